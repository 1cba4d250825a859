"""Ranking claims ("best configuration", "fastest model", "X is N% faster than Y") against the
computed ranking and its noise, on small archives whose every figure is set here."""

from __future__ import annotations

from pathlib import Path

from bot.core.analysis import analyze
from bot.core.ingest.rankings import find_rankings
from tests.ingest_support import ingest_files

HEADER = "model,num_ctx,temperature,tokens_s,ttft_s\n"


def _rows(model: str, ctx: int, temp: float, values: list[float]) -> str:
    return "".join(f"{model},{ctx},{temp},{v},0.1\n" for v in values)


ARCHIVE = HEADER + _rows("m:1b", 1024, 0.2, [100.0, 101.0, 99.5, 100.5]) + \
    _rows("m:1b", 4096, 0.2, [80.0, 81.0, 79.5, 80.5]) + _rows("q:7b", 1024, 0.2, [40.0, 41.0, 39.0, 40.5])


def _checks(tmp_path: Path, report: str) -> dict[str, object]:
    analysis = analyze(ingest_files(tmp_path, {"runs/results.csv": ARCHIVE, "runs/REPORT.md": report}))
    return {r.kind: r for r in analysis.rankings}


def test_claims_are_read_from_prose() -> None:
    text = ("# m:1b results\n\n## Best configuration\n\n- num_ctx: 4096\n- temperature: 0.2\n\n"
            "Result: 80.3 tok/s\n\nm:1b is 150% faster than q:7b (100.3 vs 40.1 tok/s).\n"
            "The fastest model is m:1b.\n")
    claims = {c.kind: c for c in find_rankings(text, "r.md")}
    assert claims["best_config"].config == (("num_ctx", "4096"), ("temperature", "0.2"))
    assert claims["best_config"].value == 80.3 and claims["best_config"].model == "m:1b"
    assert (claims["faster_by"].subject, claims["faster_by"].other, claims["faster_by"].percent) == ("m:1b", "q:7b",
                                                                                                      150.0)
    assert (claims["faster_by"].value, claims["faster_by"].other_value) == (100.3, 40.1)
    assert claims["fastest_model"].subject == "m:1b"


def test_a_wrong_best_configuration_beyond_the_noise_is_contradicted(tmp_path: Path) -> None:
    report = "# m:1b\n\n## Best configuration\nnum_ctx: 4096, temperature: 0.2 at 80.3 tok/s\n"
    check = _checks(tmp_path, report)["best_config"]
    assert check.status == "contradicted"
    assert (check.rank, check.of) == (2, 2) and check.best == "num_ctx=1024,temperature=0.2"
    assert check.actual_value == 80.25 and check.best_value == 100.25
    assert "exceeds the noise" in check.verdict


def test_a_right_best_configuration_separated_from_the_runner_up_is_consistent(tmp_path: Path) -> None:
    check = _checks(tmp_path, "# m:1b\n\nBest config: num_ctx=1024, temperature=0.2 (100 tok/s)\n")["best_config"]
    assert check.status == "consistent" and check.rank == 1


def test_fastest_model_and_percentages(tmp_path: Path) -> None:
    report = "# m:1b vs q:7b\n\nThe fastest model is q:7b.\n\nm:1b is 150% faster than q:7b.\n"
    checks = _checks(tmp_path, report)
    fastest = checks["fastest_model"]
    assert fastest.status == "contradicted" and fastest.best == "m:1b" and fastest.rank == 2
    faster = checks["faster_by"]
    # roll-up medians: m:1b 90.25 (both num_ctx), q:7b 40.25 -> 124.2% faster, not 150%
    assert faster.status == "contradicted" and round(faster.actual_value, 1) == 124.2
    assert "roll-ups across configurations" in faster.verdict


def test_a_name_matching_several_models_is_not_checked(tmp_path: Path) -> None:
    archive = ARCHIVE + _rows("m:7b", 1024, 0.2, [20.0, 21.0])
    analysis = analyze(ingest_files(tmp_path, {"r.csv": archive, "R.md": "q:7b is 50% faster than m.\n"}))
    check = analysis.rankings[0]
    assert check.status == "unverifiable" and "matches 2 models" in check.verdict
