"""The executive summary written from the data by rules (`bot.render.summary`), on small archives.

The six shared archives' summaries are in tests/e2e/test_summary_and_charts.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bot.core.analysis import Analysis, analyze
from bot.core.gate import judge_summary, split_sentences
from bot.core.ingest import ingest_tree
from bot.render.narrative import slack_summary
from bot.render.report import build_json, render_markdown
from bot.render.summary import MAX_WORDS, DataSummary, count_words, data_summary
from tests.factories import SAMPLE_CSV, run_result


def analysis_of(csv: str, name: str = "results.csv") -> Analysis:
    with tempfile.TemporaryDirectory(prefix="chimera-test-summary-") as tmp:
        (Path(tmp) / name).write_text(csv, encoding="utf-8")
        return analyze(ingest_tree(Path(tmp)))


def passes_the_gate(summary: DataSummary, analysis: Analysis) -> None:
    verdict = judge_summary(summary.text, facts=analysis.facts, citable={f.id for f in analysis.facts},
                            max_words=MAX_WORDS)
    assert verdict.passed, verdict.reasons
    assert all(s.fact_ids and all(f"{fid}" in s.text for fid in s.fact_ids) for s in summary.sentences)


def test_two_models_and_a_failure() -> None:
    analysis = analysis_of(SAMPLE_CSV)
    summary = data_summary(analysis)
    passes_the_gate(summary, analysis)
    assert 3 <= len(split_sentences(summary.text)) <= 6 and summary.words <= MAX_WORDS
    text = summary.text
    # gemma3:270m 290.1 tok/s (n=5) against llama3.1:8b 46.75 tok/s (n=4): 6.2x, Welch's test separates them
    assert text.startswith("Fastest configuration: gemma3:270m — 290.1 tok/s (n=5) [F")
    assert "6.2× llama3.1:8b (46.8 tok/s); the gap exceeds the noise (Welch t-test, p=" in text
    assert "1 of 10 requests failed (10.0%)" in text and "«timeout»" in text
    assert "Recommended: fix «timeout» and re-run llama3.1:8b [F" in text
    assert "use gemma3:270m: the fastest configuration, with a lead that exceeds the noise" in text


def test_configurations_within_the_noise_say_so_and_ask_for_repeats() -> None:
    csv = "model,num_ctx,tokens_s\n" + "".join(f"m:1b,{ctx},{v}\n" for ctx, v in
                                                (("1024", 50.0), ("2048", 50.4), ("4096", 49.6)))
    analysis = analysis_of(csv)
    summary = data_summary(analysis)
    passes_the_gate(summary, analysis)
    assert "Fastest configuration: m:1b at num_ctx=2048 — 50.4 tok/s (n=1)" in summary.text
    assert "0.8% above num_ctx=1024 (50.0 tok/s); one request each: not separable from noise." in summary.text
    assert "No configuration gap is beyond the noise: the largest, 1.6% for m:1b" in summary.text
    assert "Recommended: repeat each configuration so the noise test can rank them" in summary.text
    assert "failed" not in summary.text.replace("None of the 3 requests failed", "")


def test_the_word_limit_shortens_the_least_important_sentences_first() -> None:
    analysis = analysis_of(SAMPLE_CSV)
    full = data_summary(analysis)
    tight = data_summary(analysis, max_words=45)
    assert tight.words <= 45 < full.words
    kinds = [s.kind for s in tight.sentences]
    assert kinds[0] == "fastest" and "recommendation" in kinds and len(kinds) >= 3
    assert any("left out" in reason for reason in tight.left_out) or tight.text != full.text
    passes_the_gate(tight, analysis)


def test_an_archive_without_results_writes_nothing_and_slack_falls_back() -> None:
    analysis = analysis_of("not a table\n", name="notes.txt")
    summary = data_summary(analysis)
    assert summary.sentences == () and summary.text == ""
    from bot.core.narrative import Narrative

    assert slack_summary(Narrative.skipped("no model"), summary, analysis.facts) in ("", "*From the data:*\n")


def test_the_json_carries_the_summary_and_reads_back() -> None:
    result = run_result("a", narrative="")
    document = result.data["data_summary"]
    assert document["text"].startswith("Fastest configuration: gemma3:270m")
    assert document["words"] == count_words(document["text"]) <= MAX_WORDS
    assert document["fact_ids"] and all(s["fact_ids"] for s in document["sentences"])
    back = DataSummary.from_json(document)
    assert back.text == document["text"] and result.summary.text == back.text
    assert DataSummary.from_json({"sentences": "nope"}) == DataSummary()
    assert DataSummary.from_json(None) == DataSummary()
    assert DataSummary.from_json({"sentences": [{"text": "x", "fact_ids": "F1"}, 7]}).sentences[0].fact_ids == ()


def test_the_report_shows_it_with_the_callouts_when_there_is_no_narrative() -> None:
    analysis = analysis_of(SAMPLE_CSV)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "results.csv").write_text(SAMPLE_CSV, encoding="utf-8")
        inventory = ingest_tree(Path(tmp)).inventory
    from bot.core.narrative import Narrative

    report = render_markdown(archive="a", analysis=analysis, inventory=inventory,
                             narrative=Narrative.skipped("no model"))
    section = report.split("## Executive summary (from the data)", 1)[1].split("\n## ", 1)[0]
    assert "Fastest configuration: gemma3:270m — 290.1 tok/s" in section
    assert "**Recommended:** fix «timeout»" in section
    assert "| Best throughput | TTFT p50 / p95 | Failed requests | Skipped files |" in section
    assert "**290.1 tok/s** gemma3:270m" in section and "**1** of 10" in section
    assert "### Key facts" in section
    doc = build_json(archive="a", analysis=analysis, inventory=inventory, narrative=None, timings_s={})
    assert doc["data_summary"]["text"] in section.replace("**Recommended:**", "Recommended:").replace("\n\n", " ")


TOOLS = Path(__file__).resolve().parents[1] / "fixtures" / "tools"


@pytest.mark.parametrize("tool", sorted(p.name for p in TOOLS.iterdir() if p.is_dir()))
def test_every_tool_s_sample_gets_a_grounded_summary_and_a_chart(tool: str) -> None:
    """One archive per benchmark tool (tests/fixtures/tools): what is written passes the gate, the chart draws."""
    from bot.render.charts import chart_png

    analysis = analyze(ingest_tree(TOOLS / tool))
    summary = data_summary(analysis)
    assert summary.sentences and summary.words <= MAX_WORDS
    passes_the_gate(summary, analysis)
    assert not any("quality gate" in reason for reason in summary.left_out)
    chart = chart_png(analysis, title=tool)
    assert chart is not None and chart.png.startswith(b"\x89PNG")
