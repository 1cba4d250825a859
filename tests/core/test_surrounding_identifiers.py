"""Identifiers taken from around a table (the enclosing JSON object) are shortened as a record's own
are: every row of the table carries them, so a long prompt beside 2,000 results once held ~1.5 GB."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.context import decode
from bot.core.ingest import ingest_tree


def test_a_long_identifier_around_a_table_is_kept_short(tmp_path: Path) -> None:
    prompt = "word " * 2000
    results = [{"model": "m", "ttft_ms": 100 + i, "run": i} for i in range(50)]
    (tmp_path / "bench.json").write_text(json.dumps({"prompt": prompt, "results": results}))
    found = ingest_tree(tmp_path, workers=1)
    assert found.inventory.skipped == []
    identifiers = [decode(text) for text in found.stored_measurements()["identifiers"].astype(str)]
    assert len(identifiers) == 50
    assert {len(ids["prompt"]) for ids in identifiers} == {120}
    assert identifiers[0]["prompt"].startswith("word word") and identifiers[0]["prompt"].endswith("…")
    assert sorted(int(ids["run"]) for ids in identifiers) == list(range(50))
