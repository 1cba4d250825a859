"""The data-only summary and the chart for the six shared archives (skipped cleanly without ../shared).

Each chart renders, draws the panels expected for its archive (bars per configuration, sweeps along
the setting the archive was run for), stays within Slack's limits, and labels TTFT with its meaning.

Each summary is at most 120 words, three to six sentences, and passes the quality gate the model's
text must pass (every sentence cites facts, every number is grounded in one). The key phrases were
checked by hand against the raw files:

- chimera-reports: reports/gemma3/gemma3_270m_param_tuning.csv rows g999_c4096_t0.8 (303.898 tok/s,
  ttft_s 0.0648745) and g80_c2048_t0.8 (301.453 tok/s): 0.8% apart, one request each;
- llamabench_raw_runs_multibackend: raw_runs.jsonl, Vulkan RADV 7ad67ba9, tg8, no -fa: samples_ts
  52.77 53.11 52.97 53.09 53.17, median 53.09 (n=5);
- llmperf_leaderboard_70b: individual/groq_70b.json, 150 requests without error_code, median
  request_output_throughput_token_per_s 185.05; individual/lepton_70b.json: 130 of 150 rows error_code 429;
- ollama_verbose_md: data/qwen2.5_0.5b 4060Ti_16gb.md "eval rate: 201.73 tokens/s";
- vllm_nightly: results/serving_llama8B_tp1_sharegpt_qps_1.json median_ttft_ms 162.31, …_qps_inf.json
  12,176.05; results_qwen/throughput_llama8B_tp1.json tokens_per_second 1,217.71.
"""

from __future__ import annotations

import pytest

from bot.core.analysis import Analysis, analyze
from bot.core.gate import judge_summary, split_sentences
from bot.core.grounding import ground, without_citations
from bot.core.ingest import ingest_tree
from bot.render.charts import DPI, MAX_HEIGHT_PX, BarPanel, Chart, SweepPanel, chart_figure, chart_png
from bot.render.summary import MAX_WORDS, DataSummary, count_words, data_summary
from tests.paths import REAL_ARCHIVE, REALWORLD

pytestmark = pytest.mark.realdata

ARCHIVES = {"chimera-reports": REAL_ARCHIVE, **{name: REALWORLD / name for name in (
    "llamabench_jsonl_wmma", "llamabench_raw_runs_multibackend", "llmperf_leaderboard_70b", "ollama_verbose_md",
    "vllm_nightly")}}

KEY_PHRASES = {
    "chimera-reports": [
        "Fastest configuration: gemma3:270m at num_ctx=4096, num_gpu=999 — 303.9 tok/s (n=1)",
        "0.8% above num_ctx=2048, num_gpu=80 (301.5 tok/s); one request each: not separable from noise",
        "81 of 294 requests failed (27.6%)", "«Failed to connect to Ollama…»",
        "5 of 676 numbers in the archive's own summaries are wrong",
        "TTFT here is load + prompt eval as reported by Ollama (server-side; excludes network and queueing)",
        "Recommended: fix «Failed to connect to Ollama…»"],
    "llamabench_jsonl_wmma": [
        "Fastest configuration: Llama-3.2-1B-Instruct-Q4_K_M at file=llama32-1b.default-hip — 195.7 tok/s (n=1)",
        "No configuration gap is beyond the noise", "615.5%", "n_depth=65536",
        "Recommended: repeat each configuration"],
    "llamabench_raw_runs_multibackend": [
        "Fastest configuration: llama-2-7b.Q4_0 at n_gen=8 — 53.1 tok/s (n=5)",
        "the gap exceeds the noise (Welch t-test, p=0.0035)", "runs 200.9% faster with build=llama.cpp-vulkan_radv",
        "Recommended: use llama-2-7b.Q4_0 with build=llama.cpp-vulkan_radv"],
    "llmperf_leaderboard_70b": [
        "Fastest configuration: llama2-70b-4096 — 185.1 tok/s (n=150; streamed chunks, not tokens)",
        "3.0× together_ai/togethercomputer/llama-2-70b-chat (60.9 tok/s)",
        "181 of 1,195 requests failed (15.1%)", "most often «error_code 429»",
        "130 of them from llama2-70b's 150 requests", "All 480 numbers",
        "TTFT here is client-side time to the first streamed chunk (LLMPerf)",
        "Recommended: fix «error_code 429» and re-run llama2-70b"],
    "ollama_verbose_md": [
        "Fastest configuration: qwen2.5:0.5b at hardware=4060Ti_16gb — 201.7 tok/s (n=1)",
        "46% above deepseek-r1:1.5b (138.3 tok/s)", "None of the 66 requests failed",
        "TTFT here is load + prompt eval as reported by Ollama"],
    "vllm_nightly": [
        "No per-request throughput was recorded", "1,217.7 tok/s for folder=results_qwen",
        "median TTFT (folder=results) rises from 162 ms at request_rate=1 to 12,176 ms at request_rate=inf",
        "All 14 numbers", "TTFT here is client-side: request sent to first streamed token",
        "Recommended: save per-request results"],
}


@pytest.fixture(scope="module")
def analyses() -> dict[str, Analysis]:
    """Each archive analysed once for this module (those absent are left out)."""
    return {name: analyze(ingest_tree(path)) for name, path in ARCHIVES.items() if path.is_dir()}


def _analysis(analyses: dict[str, Analysis], name: str) -> Analysis:
    if name not in analyses:
        pytest.skip(f"archive not present at {ARCHIVES[name]}")
    return analyses[name]


@pytest.mark.parametrize("name", list(ARCHIVES))
def test_the_data_summary_is_short_grounded_and_says_what_matters(analyses: dict[str, Analysis], name: str) -> None:
    analysis = _analysis(analyses, name)
    summary = data_summary(analysis)
    text = summary.text
    assert summary.words == count_words(text) <= MAX_WORDS == 120
    assert len(without_citations(text).split()) <= 120  # as a reader counts, citations aside
    assert 3 <= len(split_sentences(text)) <= 6
    verdict = judge_summary(text, facts=analysis.facts, citable={f.id for f in analysis.facts}, max_words=120)
    assert verdict.passed, verdict.reasons  # every sentence cites facts; every number grounded in one
    claims = ground(text, analysis.facts)
    assert claims and all(c.grounded for c in claims)
    for sentence in split_sentences(text):
        assert "[F" in sentence, sentence
    for phrase in KEY_PHRASES[name]:
        assert phrase in text, phrase
    assert DataSummary.from_json(summary.to_json()).text == text


def test_the_failure_cause_is_quoted_from_the_facts_it_cites(analyses: dict[str, Analysis]) -> None:
    analysis = _analysis(analyses, "llmperf_leaderboard_70b")
    failures = next(s for s in data_summary(analysis).sentences if s.kind == "failures")
    by_id = {f.id: f for f in analysis.facts}
    assert any("«error_code 429»" in by_id[fid].statement for fid in failures.fact_ids)


# --- the chart ---------------------------------------------------------------------------------------

# (kind, metric, bars or lines drawn, left out, sweep dimension) per panel, in drawing order
EXPECTED_PANELS = {
    "chimera-reports": [("bars", "throughput_tok_s", 10, 0, None), ("bars", "ttft_ms", 6, 0, None)]
    + [("sweep", "throughput_tok_s", 6, 3, "num_gpu")] * 4,
    "llamabench_jsonl_wmma": [("bars", "throughput_tok_s", 3, 0, None), ("bars", "prompt_throughput_tok_s", 3, 0, None),
                              ("sweep", "throughput_tok_s", 3, 0, "n_depth"),
                              ("sweep", "throughput_tok_s", 5, 0, "n_depth"),
                              ("sweep", "throughput_tok_s", 3, 0, "n_depth"),
                              ("sweep", "prompt_throughput_tok_s", 5, 0, "n_depth")],
    "llamabench_raw_runs_multibackend": [("bars", "throughput_tok_s", 12, 170, None),
                                         ("bars", "prompt_throughput_tok_s", 12, 170, None),
                                         ("sweep", "throughput_tok_s", 6, 8, "n_gen"),
                                         ("sweep", "prompt_throughput_tok_s", 6, 8, "n_prompt")],
    "llmperf_leaderboard_70b": [("bars", "throughput_tok_s", 8, 0, None), ("bars", "ttft_ms", 8, 0, None)],
    "ollama_verbose_md": [("bars", "throughput_tok_s", 12, 13, None), ("bars", "ttft_ms", 12, 13, None)],
    "vllm_nightly": [("bars", "latency_ms", 2, 0, None), ("bars", "total_throughput_tok_s", 2, 0, None),
                     ("sweep", "ttft_ms", 2, 0, "request_rate"), ("sweep", "tpot_ms", 2, 0, "request_rate"),
                     ("sweep", "itl_ms", 2, 0, "request_rate")],
}


@pytest.fixture(scope="module")
def charts(analyses: dict[str, Analysis]) -> dict[str, Chart]:
    out = {}
    for name, analysis in analyses.items():
        chart = chart_png(analysis, title=name)
        assert chart is not None, name
        out[name] = chart
    return out


@pytest.mark.parametrize("name", list(ARCHIVES))
def test_the_chart_draws_the_expected_panels(analyses: dict[str, Analysis], charts: dict[str, Chart],
                                             name: str) -> None:
    _analysis(analyses, name)
    chart = charts[name]
    assert chart.png.startswith(b"\x89PNG") and len(chart.png) < 1_000_000  # well within Slack's file limits
    got = [(p["kind"], p["metric"], p.get("bars", p.get("lines")), p["left_out"], p.get("dimension"))
           for p in chart.plan.describe()]
    assert got == EXPECTED_PANELS[name]
    figure = chart_figure(chart.plan)
    assert len([a for a in figure.axes if a.get_title(loc="left")]) == len(got)
    assert figure.get_size_inches()[1] * DPI <= MAX_HEIGHT_PX
    for panel in chart.plan.panels:  # every bar says its value and n; TTFT says what it means
        if isinstance(panel, BarPanel):
            assert all(b.value == b.value and (b.n is None or b.n >= 1) for b in panel.bars)
        if panel.metric == "ttft_ms":
            assert "TTFT = " in panel.note


def test_the_headline_bar_is_the_summary_s_fastest_configuration(analyses: dict[str, Analysis],
                                                                 charts: dict[str, Chart]) -> None:
    _analysis(analyses, "llamabench_raw_runs_multibackend")
    bars = charts["llamabench_raw_runs_multibackend"].plan.panels[0]
    assert isinstance(bars, BarPanel)
    top = bars.bars[0]
    assert top.headline and top.label == "flash_attn=0, n_gen=8" and round(top.value, 1) == 53.1 and top.n == 5
    assert "all bars: build=llama.cpp-vulkan_radv, build_commit=7ad67ba9" in bars.note
    (low, high) = (top.low, top.high)
    assert low is not None and high is not None and 52.7 < low <= top.value <= high < 53.2  # samples_ts p5-p95


def test_the_vllm_rate_sweep_is_the_tool_s_median_ttft(analyses: dict[str, Analysis], charts: dict[str, Chart]) -> None:
    _analysis(analyses, "vllm_nightly")
    sweep = charts["vllm_nightly"].plan.panels[2]
    assert isinstance(sweep, SweepPanel) and sweep.settings == ("1", "4", "16", "inf") and sweep.log
    results = next(line for line in sweep.lines if line.label == "folder=results")
    assert [round(v) for v in results.values] == [162, 181, 280, 12176]  # serving_*_qps_{1,4,16,inf}.json
