"""The throughput/TTFT chart (`bot.render.charts`)."""

from __future__ import annotations

from bot.render.charts import throughput_ttft_png
from tests.factories import run_result


def test_chart_png():
    png = throughput_ttft_png(run_result("a").data["models"], title="a")
    assert png is not None and png.startswith(b"\x89PNG")
    assert throughput_ttft_png([{"model": "x", "throughput_tok_s": {"median": None}}]) is None
