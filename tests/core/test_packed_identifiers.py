"""A run's identifiers are kept packed by ingest (`bot.core.ingest.packed`), not in its measurement
frame: `IngestResult.stored_measurements` gives back the whole tidy frame, each row's identifiers as
the frame held them before (a categorical of sorted texts), whichever rows were kept."""

from __future__ import annotations

import json
from array import array
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.core.ingest import ingest_tree, packed
from bot.core.ingest.packed import PackedTexts, pack
from bot.core.limits import ReportCaps, cap_report
from bot.core.types import (
    INGEST_COLUMNS,
    MEASUREMENT_COLUMNS,
    IngestResult,
    Inventory,
    empty_claims,
    empty_measurements,
)
from tests.ingest_support import write_tree

TEXTS = ["", "a#1", "plain ascii", "é#2", "日本語", "\ud800 lone surrogate", "x\x00y", "🙂", "a#1", "{}"]


def _packed(texts: list[str], codes: list[int]) -> PackedTexts:
    data = bytearray()
    ends = array("q")
    for text in texts:
        data += text.encode("utf-8", "surrogatepass")
        ends.append(len(data))
    found = pack(data, ends, np.array(codes, dtype=np.int16))
    assert not data and not ends  # emptied as they were packed
    return found


@pytest.mark.parametrize("block", [1, 3, 4, 1000])
def test_packed_texts_round_trip_across_block_ends(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(packed, "BLOCK_TEXTS", block)
    found = _packed(TEXTS, [9, 1, 8, 4, 5, 0, 7])
    assert len(found.blocks) == -(-len(TEXTS) // block)
    assert found.texts().tolist() == TEXTS
    column = found.column()
    assert isinstance(column, pd.Categorical)
    assert list(column) == [TEXTS[i] for i in (9, 1, 8, 4, 5, 0, 7)]
    # one category per distinct text some row uses ("a#1" is held twice), sorted as the frame's are
    assert list(column.categories) == sorted({TEXTS[i] for i in (9, 1, 8, 4, 5, 0, 7)})
    assert list(found.take(np.array([True, False, True, False, False, False, True])).column()) == ["{}", "a#1", "🙂"]
    assert list(found.take(np.array([6, 6, 2])).column()) == ["🙂", "🙂", "a#1"]
    with pytest.raises(ValueError):
        found.codes[0] = 1  # read-only: `take` shares the blocks and `column` copies the codes


def test_no_text_packs_to_an_empty_column() -> None:
    found = _packed([], [])
    assert found.blocks == () and len(found) == 0
    column = found.column()
    assert isinstance(column, np.ndarray) and column.dtype == object and len(column) == 0


HEADER = "timestamp,prompt,model,num_ctx,ttft_s,tokens_s,error\n"
JSON_ROWS = [("2025-09-30T20:11:33", "Grüße 日本 1", 1024, 0.5, 40.0),
             ("2025-09-30T20:11:34", "plain two", 1024, 0.6, 41.0),
             ("2025-09-30T20:11:35", "🙂 three", 4096, 0.7, 42.0)]


def archive_with_identifiers(root: Path) -> Path:
    """Two files of the same three records (so one is dropped as the other's twin: its rows are not
    kept), their identifiers non-ASCII, the dropped copy's other than the kept one's."""
    records = [{"timestamp": t, "prompt": p, "model": "m:1b", "num_ctx": c, "ttft_s": f, "tokens_s": s, "error": ""}
               for t, p, c, f, s in JSON_ROWS]
    csv = HEADER + "".join(f"{t.replace('09-30', '01-01')},csv only {i},m:1b,{c},{f},{s},\n"
                           for i, (t, _p, c, f, s) in enumerate(JSON_ROWS))
    return write_tree(root, {"runs/copy.json": json.dumps(records, ensure_ascii=False), "runs/tuning.csv": csv})


def expected_identifiers() -> list[str]:
    """By hand: each kept row's identifiers as the frame held them (canonical JSON, sorted keys, the
    text as written), two rows (ttft and throughput) per record of the kept file."""
    texts = [f'{{"prompt":"{p}","timestamp":"{t}"}}' for t, p, *_ in JSON_ROWS]
    return [text for text in texts for _metric in range(2)]


def test_ingest_keeps_the_identifiers_packed_and_the_stored_frame_whole(tmp_path: Path) -> None:
    ingest = ingest_tree(archive_with_identifiers(tmp_path / "archive"))
    assert ingest.inventory.duplicates == [("runs/copy.json", "runs/tuning.csv")]  # its rows are dropped
    assert tuple(ingest.measurements.columns) == INGEST_COLUMNS
    with pytest.raises(KeyError):
        ingest.measurements["identifiers"]  # no placeholder: a reader of the column fails loudly
    stored = ingest.stored_measurements()
    assert tuple(stored.columns) == MEASUREMENT_COLUMNS
    assert stored["identifiers"].tolist() == expected_identifiers()
    assert isinstance(stored["identifiers"].dtype, pd.CategoricalDtype)
    assert list(stored["identifiers"].cat.categories) == sorted(set(expected_identifiers()))
    for name in INGEST_COLUMNS:  # every other column is the ingest frame's own
        assert stored[name] is ingest.measurements[name] or stored[name].equals(ingest.measurements[name])


def test_an_archive_without_measurements_stores_the_empty_frame(tmp_path: Path) -> None:
    ingest = ingest_tree(write_tree(tmp_path / "archive", {"notes.txt": "nothing measured here\n"}))
    pd.testing.assert_frame_equal(ingest.measurements, empty_measurements(INGEST_COLUMNS))
    pd.testing.assert_frame_equal(ingest.stored_measurements(), empty_measurements())


def test_a_capped_report_keeps_the_identifiers_of_its_rows(tmp_path: Path) -> None:
    files = {f"runs/m{i}.csv": HEADER + f"2025-09-30T20:11:3{i},prompt é{i},m{i}:1b,1024,0.5,{40 + i},\n"
             for i in range(5)}
    ingest = ingest_tree(write_tree(tmp_path / "archive", files))
    capped = cap_report(ingest, ReportCaps(max_models=2, max_configurations=100))
    assert capped.identifiers is not None
    assert len(capped.identifiers) == len(capped.measurements) < len(ingest.measurements)
    stored = capped.stored_measurements()
    models = stored["model"].astype(str).tolist()
    assert [json.loads(text)["prompt"] for text in stored["identifiers"]] == [f"prompt é{m[1]}" for m in models]


def test_a_frame_built_whole_is_stored_as_it_is() -> None:
    frame = empty_measurements()
    ingest = IngestResult(measurements=frame, claims=empty_claims(), inventory=Inventory())
    assert ingest.stored_measurements() is frame


def test_identifiers_for_other_rows_are_refused() -> None:
    ingest = IngestResult(measurements=empty_measurements(INGEST_COLUMNS), claims=empty_claims(), inventory=Inventory(),
                          identifiers=_packed(["{}"], [0]))
    with pytest.raises(ValueError, match="1 identifiers for 0 measurements"):
        ingest.stored_measurements()
