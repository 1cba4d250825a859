"""The thread's chart (`bot.render.charts`): what each panel holds, and that odd data never breaks it.

The six shared archives' charts are in tests/e2e/test_summary_and_charts.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.container import BarContainer

from bot.core.analysis import Analysis, analyze
from bot.core.ingest import ingest_tree
from bot.render.charts import (
    DPI,
    MAX_BARS,
    MAX_HEIGHT_PX,
    MAX_SERIES,
    BarPanel,
    SweepPanel,
    chart_figure,
    chart_plan,
    chart_png,
)
from tests.factories import run_result


def analysis_of(files: dict[str, str]) -> Analysis:
    with tempfile.TemporaryDirectory(prefix="chimera-test-charts-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        return analyze(ingest_tree(Path(tmp)))


def texts(axis: Axes) -> list[str]:
    return [t.get_text() for t in axis.texts]


def test_two_models_get_labelled_bars_with_n_and_spread() -> None:
    chart = chart_png(run_result("a").analysis, title="a")
    assert chart is not None and chart.png.startswith(b"\x89PNG")
    throughput, ttft = chart.plan.panels
    assert isinstance(throughput, BarPanel) and isinstance(ttft, BarPanel)
    assert [b.label for b in throughput.bars] == ["gemma3:270m", "llama3.1:8b"]
    best = throughput.bars[0]
    assert (best.value, best.n, best.headline) == (290.1, 5, True)
    assert best.low is not None and best.high is not None and best.low <= best.value <= best.high
    assert sorted(best.dots) == [288.0, 289.0, 290.1, 292.0, 295.0]  # few values: drawn themselves
    assert throughput.bars[1].n == 4  # the failed request is not a value
    assert ttft.metric == "ttft_ms" and "lower is better" in ttft.title and "TTFT =" in ttft.note
    figure = chart_figure(chart.plan)
    axes = [a for a in figure.axes if a.get_title(loc="left")]
    assert len(axes) == 2
    assert "290.1  (n=5)" in texts(axes[0]) and "46.8  (n=4)" in texts(axes[0])
    assert sum(len(c) for c in axes[0].containers if isinstance(c, BarContainer)) == 2


def test_a_depth_sweep_gets_a_line_per_variant() -> None:
    rows = ["model,backend,n_depth,tokens_s"]
    for backend, speeds in (("hip", (50.0, 40.0, 30.0, 20.0)), ("vulkan", (55.0, 41.0, 25.0, 12.0))):
        for depth, speed in zip((0, 1024, 4096, 16384), speeds, strict=True):
            rows += [f"m:1b,{backend},{depth},{speed + d}" for d in (0.0, 0.4, -0.4)]
    plan = chart_plan(analysis_of({"bench.csv": "\n".join(rows) + "\n"}), title="depth")
    assert plan is not None
    (sweep,) = [p for p in plan.panels if isinstance(p, SweepPanel)]
    assert (sweep.dimension, sweep.settings) == ("n_depth", ("0", "1024", "4096", "16384"))
    assert [line.label for line in sweep.lines] == ["backend=vulkan", "backend=hip"]
    assert sweep.lines[0].values == (55.0, 41.0, 25.0, 12.0) and sweep.lines[0].n == (3, 3, 3, 3)
    assert all(lo is not None for lo in sweep.lines[0].low)  # the p5-p95 band
    figure = chart_figure(plan)
    line_axis = next(a for a in figure.axes if "vs n_depth" in a.get_title(loc="left"))
    assert len(line_axis.get_lines()) == 2
    assert [t.get_text() for t in line_axis.get_xticklabels()] == ["0", "1,024", "4,096", "16,384"]


def test_a_tool_rate_sweep_is_drawn_without_a_spread_and_on_a_log_axis_when_it_spans_far() -> None:
    files = {f"serving_qps_{rate}.json": json.dumps({
        "backend": "vllm", "model_id": "llama-8b", "request_rate": rate if rate == "inf" else float(rate),
        "completed": 200, "median_ttft_ms": ttft, "mean_ttft_ms": ttft}) for rate, ttft in
        (("1", 160.0), ("4", 180.0), ("16", 280.0), ("inf", 12000.0))}
    plan = chart_plan(analysis_of(files))
    assert plan is not None
    sweep = next(p for p in plan.panels if isinstance(p, SweepPanel) and p.metric == "ttft_ms")
    assert sweep.settings == ("1", "4", "16", "inf") and sweep.log
    assert sweep.lines[0].low == (None,) * 4  # a tool's figure has no values to spread
    assert "n=200 per point" in sweep.note and "tool-reported median" in sweep.title
    assert "TTFT = client-side: request sent to first streamed token (vLLM benchmark_serving)" in sweep.note
    chart_figure(plan)


def test_odd_data_never_breaks_the_chart() -> None:
    # no successful row: nothing to draw
    assert chart_png(analysis_of({"r.csv": "model,tokens_s,error\nm:1b,0,timeout\nm:1b,0,timeout\n"})) is None
    # nothing at all
    assert chart_png(analysis_of({"notes.txt": "hello\n"})) is None
    # one row: one bar, no spread
    one = chart_png(analysis_of({"r.csv": "model,tokens_s,ttft_ms\nm:1b,12.5,80\n"}))
    assert one is not None
    bar = one.plan.panels[0].bars[0]  # type: ignore[union-attr]
    assert (bar.value, bar.n, bar.low, bar.dots) == (12.5, 1, None, ())
    # NaN and empty cells are no values
    nan = chart_png(analysis_of({"r.csv": "model,tokens_s,ttft_ms\nm:1b,nan,\nm:1b,20,nan\nm:1b,,90\n"}))
    assert nan is not None and all(b.value == b.value for p in nan.plan.panels
                                   for b in getattr(p, "bars", ()))
    # huge values and counts: labels stay readable, the picture stays within Slack's limits
    big = "model,tokens_s\n" + "".join(f"m{i % 60}:1b,{1e12 + i}\n" for i in range(6000))
    chart = chart_png(analysis_of({"big.csv": big}))
    assert chart is not None
    panel = chart.plan.panels[0]
    assert isinstance(panel, BarPanel) and len(panel.bars) == MAX_BARS and panel.left_out == 60 - MAX_BARS
    assert panel.bars[0].n == 100 and "(+48 more not shown)" in panel.title
    figure = chart_figure(chart.plan)
    assert figure.get_size_inches()[1] * DPI <= MAX_HEIGHT_PX
    assert len(chart.png) < 2_000_000


def test_many_lines_are_capped_and_counted() -> None:
    rows = ["model,variant,num_ctx,tokens_s"]
    rows += [f"m:1b,v{v:02d},{ctx},{50 + v + ctx / 1024}" for v in range(20) for ctx in (1024, 2048, 4096)]
    plan = chart_plan(analysis_of({"grid.csv": "\n".join(rows) + "\n"}))
    assert plan is not None
    sweep = next(p for p in plan.panels if isinstance(p, SweepPanel))
    assert len(sweep.lines) == MAX_SERIES and sweep.left_out == 20 - MAX_SERIES
    assert "(+14 more lines)" in sweep.title
    assert [line.label for line in sweep.lines][:2] == ["variant=v19", "variant=v18"]  # the fastest lines
    described = plan.describe()
    assert {"kind": "sweep", "lines": MAX_SERIES, "left_out": 14}.items() <= described[-1].items()
