"""Analysis on small hand-made archives: every expected value is computed independently here."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.core.analysis import analyze
from bot.core.analysis.requests import welch
from bot.core.tdist import two_sided_p
from tests.ingest_support import ingest_files

HEADER = "model,num_ctx,ttft_s,tokens_s,load_s,eval_s,eval_count,error\n"


def _rows(model: str, ctx: int, tps: list[float], ttft: list[float], load: list[float],
          errors: list[str] | None = None) -> str:
    errors = errors or [""] * len(tps)
    return "".join(f"{model},{ctx},{t},{p},{ld},1.0,{0 if e else 100},{e}\n"
                   for p, t, ld, e in zip(tps, ttft, load, errors, strict=True))


def _archive(tmp_path: Path) -> dict[str, str]:
    a = _rows("m:1b", 1024, [100.0, 101.0, 99.0, 100.5, 0.0], [3.0, 0.10, 0.11, 0.09, 0.0],
              [2.9, 0.05, 0.05, 0.04, 0.0], ["", "", "", "", "connection refused"])
    b = _rows("m:1b", 4096, [80.0, 81.0, 79.5, 80.5], [0.12, 0.13, 0.12, 0.14], [0.05, 0.05, 0.06, 0.05])
    c = _rows("q:7b", 1024, [40.0, 42.0, 41.0], [0.2, 0.21, 0.22], [0.1, 0.1, 0.1])
    # The summary claims the mean for m:1b@1024 — computed with the failed zero averaged in.
    wrong_mean = statistics.mean([100.0, 101.0, 99.0, 100.5, 0.0])
    summary = f"model,num_ctx,mean_tokens_s,median_tokens_s\nm:1b,1024,{wrong_mean:.2f},100.25\nm:1b,4096,80.25,80.25\n"
    return {"runs/results.csv": HEADER + a + b + c, "runs/results_summary.csv": summary}


def test_failed_requests_are_counted_and_never_averaged(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, _archive(tmp_path)))
    m1 = next(m for m in analysis.models if m.model == "m:1b")
    assert (m1.requests, m1.n, m1.failed) == (9, 8, 1)
    ok = [100.0, 101.0, 99.0, 100.5, 80.0, 81.0, 79.5, 80.5]
    assert m1.throughput_tok_s["median"] == statistics.median(ok)
    assert m1.throughput_tok_s["mean"] == statistics.mean(ok)
    assert m1.throughput_tok_s["p95"] == float(np.percentile(ok, 95))
    assert m1.failure_reasons == {"connection refused": 1}
    assert (analysis.total, analysis.failed) == (12, 1)


def test_cold_start_is_separated_from_warm_ttft(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, _archive(tmp_path)))
    m1 = next(m for m in analysis.models if m.model == "m:1b")
    assert m1.cold_starts == 1
    warm = [100.0, 110.0, 90.0, 120.0, 130.0, 120.0, 140.0]  # ms, the 3 s cold start left out
    assert abs(m1.ttft_warm_ms["median"] - statistics.median(warm)) < 1e-9
    assert m1.ttft_ms["max"] == 3000.0  # still visible in the all-requests view


def test_best_and_worst_configuration_with_noise_test(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, _archive(tmp_path)))
    cmp = next(c for c in analysis.comparisons if c.model == "m:1b" and c.parameter == "")
    assert (cmp.best, cmp.worst) == ("num_ctx=1024", "num_ctx=4096")
    assert cmp.best_median == statistics.median([100.0, 101.0, 99.0, 100.5])
    assert cmp.significant and cmp.p_value is not None and cmp.p_value < 0.001
    # q:7b has one configuration only: nothing to compare
    assert not [c for c in analysis.comparisons if c.model == "q:7b"]


def test_overlapping_configurations_are_within_noise(tmp_path: Path) -> None:
    rows = _rows("m:1b", 1024, [100.0, 90.0, 110.0], [0.1] * 3, [0.05] * 3) + \
        _rows("m:1b", 2048, [101.0, 89.0, 111.0], [0.1] * 3, [0.05] * 3)
    analysis = analyze(ingest_files(tmp_path, {"r.csv": HEADER + rows}))
    cmp = analysis.comparisons[0]
    assert not cmp.significant and cmp.p_value > 0.5


def test_summary_claim_that_averaged_failures_is_reported(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, _archive(tmp_path)))
    mismatches = [c for c in analysis.claim_checks if c.status == "mismatch"]
    assert len(mismatches) == 1
    bad = mismatches[0]
    assert (bad.model, bad.config, bad.statistic) == ("m:1b", "num_ctx=1024", "mean")
    assert bad.actual == statistics.mean([100.0, 101.0, 99.0, 100.5])
    assert "failed requests" in bad.explanation
    assert len([c for c in analysis.claim_checks if c.status == "match"]) == 3


def test_facts_are_numbered_traceable_and_stable(tmp_path: Path) -> None:
    files = _archive(tmp_path)
    first = analyze(ingest_files(tmp_path / "a", files)).facts
    second = analyze(ingest_files(tmp_path / "b", files)).facts
    assert [f.id for f in first] == [f"F{i}" for i in range(1, len(first) + 1)]
    assert [(f.id, f.statement, f.value) for f in first] == [(f.id, f.statement, f.value) for f in second]
    best = next(f for f in first if f.statement.startswith("Highest median throughput"))
    assert best.model == "m:1b" and best.sources == ("runs/results.csv",)
    # The headline is one configuration's figure (num_ctx 1024), never m:1b's median over both
    # num_ctx values (90.0, which no configuration has): that expectation encoded the pooling bug.
    assert best.config == "num_ctx=1024"
    assert best.value == statistics.median([100.0, 101.0, 99.0, 100.5])
    pooled = next(f for f in first if f.model == "m:1b" and f.metric == "throughput_tok_s" and "roll-up" in f.statement)
    assert pooled.value == statistics.median([100.0, 101.0, 99.0, 100.5, 80.0, 81.0, 79.5, 80.5])
    assert "over 2 configurations that differ in num_ctx" in pooled.statement
    assert all(f.sources for f in first)


def test_empty_archive_gives_no_models_and_no_crash(tmp_path: Path) -> None:
    analysis = analyze(ingest_files(tmp_path, {"notes.md": "# nothing\n"}))
    assert analysis.models == [] and analysis.total == 0
    assert any(f.metric == "skipped_files" for f in analysis.facts)


def test_ttft_definition_is_stated_and_mixed_definitions_are_flagged(tmp_path: Path) -> None:
    # Ollama-style rows: ttft = load + prompt_eval (server-side durations)
    ollama = ("model,ttft_s,tokens_s,load_s,prompt_eval_s,eval_count,error\n"
              "m:1b,0.15,50,0.05,0.10,10,\nm:1b,0.16,51,0.05,0.11,10,\n")
    # a tool whose TTFT is not load + prompt eval (e.g. measured by the client)
    other = "model,ttft_ms,tokens_s\nm:1b,210,49\nq:7b,300,20\n"
    analysis = analyze(ingest_files(tmp_path, {"a/ollama_runs.csv": ollama, "b/client_runs.csv": other}))
    by_model = {m.model: m for m in analysis.models}
    assert len(by_model["m:1b"].ttft_definitions) == 2
    assert any(d.startswith("load + prompt eval") for d in by_model["m:1b"].ttft_definitions)
    assert by_model["q:7b"].ttft_definitions == ("as recorded by the benchmark file (definition not stated)",)
    # the model-level (roll-up) TTFT fact; the fastest configuration has a TTFT fact of its own
    m1b = next(f for f in analysis.facts if f.model == "m:1b" and f.metric == "ttft_ms" and not f.config)
    assert "define TTFT differently" in m1b.statement and "roll-up over 2 configurations" in m1b.statement


def _welch_on_series(a: pd.Series, b: pd.Series) -> tuple[float | None, str]:
    """The Welch test as it was written on pandas Series (the reference the array version keeps;
    the t distribution itself is checked against scipy in test_tdist.py)."""
    a = pd.to_numeric(a, errors="coerce").dropna()
    b = pd.to_numeric(b, errors="coerce").dropna()
    if a.size < 2 or b.size < 2:
        return None, f"n={a.size} vs n={b.size}: too few samples to separate from noise"
    va, vb = float(a.var(ddof=1)) / a.size, float(b.var(ddof=1)) / b.size
    diff = float(a.mean() - b.mean())
    if va + vb == 0:
        return (0.0 if diff != 0 else 1.0), "no spread"
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    p = two_sided_p(t, df)
    return (p if math.isfinite(p) else None), "Welch t-test"


def test_welch_on_arrays_gives_the_same_bits_as_on_series() -> None:
    """The p-values go into the JSON as they are: the array version must not move a bit."""
    rng = np.random.default_rng(15)
    for i in range(2_000):
        n, m = rng.integers(0, 30, 2)
        scale = 10.0 ** rng.integers(-3, 6)
        a, b = rng.normal(100, 5, n) * scale, rng.normal(100 + rng.normal(0, 3), 5, m) * scale
        if i % 7 == 0:
            a = np.round(a, 1)
        if i % 11 == 0 and n:
            a[0] = np.nan
        if i % 13 == 0:
            b = np.full(m, 3.0)
        expected = _welch_on_series(pd.Series(a), pd.Series(b))
        assert welch(a, b) == expected
        assert welch(pd.Series(a, dtype=object), pd.Series(b)) == expected


@pytest.mark.parametrize("scale", [1e-170, 1e-160, 1e-120, 1e120, 1e200])
def test_welch_is_the_same_at_any_common_scale(scale: float) -> None:
    """t and df do not change when both samples are scaled alike; squared variances of 1e-160 values
    underflowed to 0.0 / 0.0 (a crash) and of 1e-170 values to "no spread" (p = 0)."""
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.5, 5.0, 4.0])
    expected, method = welch(a, b)
    assert method == "Welch t-test" and expected is not None
    found, found_method = welch(a * scale, b * scale)
    assert found_method == "Welch t-test"
    assert found == pytest.approx(expected, rel=1e-12)
