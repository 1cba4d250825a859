"""Ranking claims that name the same models again (summaries repeat them) are checked from what the
first one looked up (`_Successful.resolve`, `_values`): the same checks as each checked alone."""

from __future__ import annotations

from pathlib import Path

from bot.core.analysis import analyze
from bot.core.analysis.rankings import _Successful, _values, check_rankings, resolve
from bot.core.ingest.rankings import find_rankings
from tests.ingest_support import ingest_files

HEADER = "model,num_ctx,temperature,tokens_s,ttft_s\n"


def _rows(model: str, ctx: int, temp: float, values: list[float]) -> str:
    return "".join(f"{model},{ctx},{temp},{v},0.1\n" for v in values)


ARCHIVE = HEADER + _rows("m:1b", 1024, 0.2, [100.0, 101.0, 99.5, 100.5]) + \
    _rows("m:1b", 4096, 0.2, [80.0, 81.0, 79.5, 80.5]) + _rows("q:7b", 1024, 0.2, [40.0, 41.0, 39.0, 40.5])


def test_repeated_names_give_the_checks_each_gives_alone(tmp_path: Path) -> None:
    report = ("m:1b is 150% faster than q:7b.\n\nm:1b is 20% faster than q:7b.\n\nq:7b is 10% slower than m:1b.\n\n"
              "The fastest model is m:1b.\n\nm is 5% faster than q:7b.\n")
    analysis = analyze(ingest_files(tmp_path, {"runs/results.csv": ARCHIVE, "runs/REPORT.md": report}))
    found = find_rankings(report, "runs/REPORT.md")
    assert len(found) >= 4
    together = check_rankings(found, analysis)
    alone = [check_rankings([claim], analysis)[0] for claim in found]
    assert together == alone
    assert {check.status for check in together} != {"unverifiable"}


def test_a_looked_up_name_and_values_are_the_first_look_up_s(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, {"runs/results.csv": ARCHIVE}))
    rows = _Successful(analysis.measurements)
    known = rows.models()
    for name in ("m:1b", "m", "Q:7B", "nothing", ""):
        first = rows.resolve(name, known)
        assert first == resolve(name, known) == rows.resolve(name, known)
        first[1].append("changed")  # a caller's list is its own
        assert rows.resolve(name, known) == resolve(name, known)
    values = _values(rows, "m:1b", "throughput_tok_s")
    assert values.tolist() == [100.0, 101.0, 99.5, 100.5, 80.0, 81.0, 79.5, 80.5]
    assert _values(rows, "m:1b", "throughput_tok_s") is values
    assert not values.flags.writeable  # (shared by every claim naming the model: read only)
    assert _values(rows, "m:1b", "throughput_tok_s", "num_ctx=4096").tolist() == [80.0, 81.0, 79.5, 80.5]
