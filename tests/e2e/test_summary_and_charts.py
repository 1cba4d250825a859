"""The data-only summary and the chart for the six shared archives (skipped cleanly without ../shared).

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
