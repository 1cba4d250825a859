"""Sweeps (`bot.core.analysis.sweeps`): a metric against one numeric setting, one line per other settings."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from bot.core.analysis import Analysis, analyze
from bot.core.analysis.sweeps import aggregate_sweeps, as_setting, row_sweeps
from bot.core.ingest import ingest_tree


def analysis_of(files: dict[str, str]) -> Analysis:
    with tempfile.TemporaryDirectory(prefix="chimera-test-sweeps-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        return analyze(ingest_tree(Path(tmp)))


def test_settings_are_plain_numbers_or_inf() -> None:
    assert as_setting("4096") == 4096 and as_setting("0.8") == 0.8 and as_setting("inf") == math.inf
    assert as_setting("83bc2f28") is None and as_setting("12 ms") is None and as_setting("") is None


def test_a_depth_sweep_per_backend_is_one_line_each() -> None:
    rows = ["model,backend,n_depth,build_commit,tokens_s"]
    for backend, speeds in (("hip", (50.0, 40.0, 30.0, 20.0)), ("vulkan", (55.0, 41.0, 25.0, 12.0))):
        for depth, speed in zip((0, 1024, 4096, 16384), speeds, strict=True):
            for rep in (0.0, 0.5, -0.5):
                rows.append(f"m:1b,{backend},{depth},{len(backend)}a1b2c3,{speed + rep}")
    (sweep,) = row_sweeps(analysis_of({"bench.csv": "\n".join(rows) + "\n"}))
    assert (sweep.model, sweep.metric, sweep.dimension, sweep.source) == ("m:1b", "throughput_tok_s", "n_depth", "rows")
    assert [s.label for s in sweep.series] == ["backend=vulkan", "backend=hip"]  # the best line first
    vulkan = sweep.series[0]
    assert [p.label for p in vulkan.points] == ["0", "1024", "4096", "16384"]
    assert [p.value for p in vulkan.points] == [55.0, 41.0, 25.0, 12.0] and {p.n for p in vulkan.points} == {3}


def test_a_rate_sweep_of_tool_aggregates_follows_the_median_and_puts_inf_last() -> None:
    import json

    files = {}
    for rate, ttft in (("1", 160.0), ("4", 180.0), ("16", 280.0), ("inf", 12000.0)):
        files[f"serving_qps_{rate}.json"] = json.dumps({
            "backend": "vllm", "model_id": "llama-8b", "request_rate": rate if rate == "inf" else float(rate),
            "completed": 200, "mean_ttft_ms": ttft * 1.05, "median_ttft_ms": ttft, "p99_ttft_ms": ttft * 2})
    sweeps = aggregate_sweeps(analysis_of(files))
    ttft = next(s for s in sweeps if s.metric == "ttft_ms")
    assert ttft.dimension == "request_rate" and ttft.statistic == "median" and ttft.source == "tool"
    (line,) = ttft.series
    assert [p.label for p in line.points] == ["1", "4", "16", "inf"]
    assert [p.value for p in line.points] == [160.0, 180.0, 280.0, 12000.0]


def test_two_settings_are_no_sweep_and_odd_values_are_left_out() -> None:
    two = "model,num_ctx,tokens_s\nm:1b,1024,50\nm:1b,2048,51\n"
    assert row_sweeps(analysis_of({"a.csv": two})) == []
    odd = "model,num_ctx,tokens_s\nm:1b,1024,50\nm:1b,2048,51\nm:1b,big,52\nm:1b,4096,nan\n"
    assert row_sweeps(analysis_of({"a.csv": odd})) == []  # 'big' is no setting; NaN is no value
