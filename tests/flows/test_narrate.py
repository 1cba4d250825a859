"""narrate(): facts -> one structured call -> grounded Narrative, and every failure as data."""

from __future__ import annotations

import json

import pytest

from bot.adapters.ollama import OllamaChat
from bot.core.grounding import UNVERIFIED
from bot.core.narrative import Narrative
from bot.core.prompts.budget import TokenEstimator
from bot.core.prompts.narrative import ANSWER_SCHEMA, ANSWER_TOKENS
from bot.core.types import Fact
from bot.flows.narrate import narrate
from bot.render.narrative import (
    metrics_markdown,
    narrative_markdown,
    narrative_note,
    rejected_appendix,
    slack_summary,
)
from bot.render.summary import DataSummary, SummarySentence
from tests.standins.ollama_server import (
    OllamaStandIn,
    Reply,
    answer_json,
    closed_port_url,
    realistic_facts,
    settings_for,
)

FACTS = realistic_facts()




def test_citations_are_rendered_with_the_exact_values(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(content=answer_json(words=100), eval_count=500, eval_duration=10**10))
    progress: list[str] = []
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host)), on_progress=progress.append)

    assert narrative.status == "ok", narrative.reason
    assert narrative.reason == ""
    assert "at **290.1 tok/s** [F1], far ahead" in narrative.summary_md
    assert "at **46.6 tok/s** [F2]" in narrative.summary_md
    assert "p50 for gemma3:270m is **870.4 ms** [F3] with a p95 of **1,234 ms** [F4]" in narrative.summary_md
    assert "a gap of **11.2%** [F9]" in narrative.summary_md
    assert narrative.ungrounded == []
    assert len(narrative.recommendations) == 3
    assert "**301.2 tok/s** [F7]" in narrative.recommendations[0]
    assert len(narrative.risks) == 2
    assert narrative.risks[0][0] == "Cold starts inflate TTFT **2** [F6]"
    assert progress and progress[0].startswith("writing summary with gemma3:latest (10 facts)")

    # one structured call with the schema; the prompt carries the facts
    (request,) = ollama.requests_to("/api/chat")
    assert request.body["format"] == ANSWER_SCHEMA
    assert request.body["options"]["num_predict"] == ANSWER_TOKENS
    assert "[F1] Median throughput of gemma3:270m" in request.body["messages"][1]["content"]

    md = narrative_markdown(narrative, FACTS)
    assert md.startswith("## Executive summary\n")
    assert "### Recommendations\n\n1. Use num_ctx=1024" in md
    assert "| Risk | Mitigation |" in md and "| Cold starts inflate TTFT **2** [F6] |" in md
    assert UNVERIFIED not in md

    assert len(narrative.short_summary) <= 700
    assert "*290.1 tok/s*" in narrative.short_summary
    assert "**" not in narrative.short_summary

    data = narrative.to_json()
    assert data["status"] == "ok" and data["model"] == "gemma3:latest"
    assert data["ungrounded_count"] == 0 and data["omitted_fact_ids"] == []
    assert data["prompt_tokens"] == narrative.calls[0].prompt_eval_count > 0
    (call,) = data["calls"]
    assert call["throughput_tok_s"] == pytest.approx(50.0)
    assert call["eval_count"] == 500
    json.dumps(data)  # serialisable

    metrics = metrics_markdown(narrative, {"ingest": 0.12, "analysis": 0.34, "report": 0.05})
    assert "Workflow: ingest 0.12 s | analysis 0.34 s | report 0.05 s" in metrics
    assert "| narrative | gemma3:latest |" in metrics and "50.0 tok/s" in metrics
    assert "TTFT: wall clock from sending the request to the first streamed token" in metrics


def test_an_invented_number_fails_the_gate_and_slack_gets_the_data(ollama: OllamaStandIn) -> None:
    summary = (
        "gemma3:270m leads at [F1]. The llama model manages only 57 tok/s in practice [F2]. "
        "TTFT p50 of gemma3:270m is [F3]."
    )
    ollama.script(Reply(content=answer_json(summary)))
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host)))
    assert narrative.status == "failed"
    assert narrative.reason == ("the quality gate rejected the model's text: a number matches no fact "
                                "(summary: «57 tok/s»)")
    assert narrative.ungrounded == ["57 tok/s"]
    assert narrative.summary_md == narrative.short_summary == "" and narrative.recommendations == []
    assert f"only 57 tok/s {UNVERIFIED} in practice" in narrative.rejected_md
    data = narrative.to_json()
    assert data["gate"]["passed"] is False and data["gate"]["problems"] == [
        {"rule": "ungrounded_number", "where": "summary", "text": "57 tok/s"}]
    assert data["gate"]["checked"]["numbers"] == 1
    note = narrative_note(narrative)
    assert note.startswith("Summary from the data alone: the model's text failed the quality gate — ")
    assert note == ("Summary from the data alone: the model's text failed the quality gate — a number matches no "
                    "fact; it is in the report's appendix, marked not used.")  # no unverified number in Slack
    appendix = rejected_appendix(narrative)
    assert appendix.startswith("## Appendix: the model's text (NOT USED)")
    assert f"57 tok/s {UNVERIFIED}" in appendix
    written = DataSummary((SummarySentence("fastest", "gemma3:270m leads at 290.1 tok/s [F1].", ("F1",)),))
    slack = slack_summary(narrative, written, FACTS)
    assert slack == "*From the data:* gemma3:270m leads at 290.1 tok/s [F1]."  # the summary written from the data
    fallback = slack_summary(narrative, DataSummary(), FACTS)  # nothing could be written: the key facts
    assert fallback.startswith("*From the data:*\n• Median throughput of gemma3:270m over warm requests [F1]")
    assert "57" not in slack and "57" not in fallback


def test_a_model_written_number_matching_a_fact_is_accepted(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(content=answer_json("TTFT p50 of gemma3:270m is 0.87 s, see [F3].")))
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host)))
    assert narrative.ungrounded == []
    assert "0.87 s" in narrative.short_summary


def test_citing_an_unknown_fact_fails_the_gate(ollama: OllamaStandIn) -> None:
    ollama.script(Reply(content=answer_json("Throughput of gemma3:270m is [F99] on average. It leads at [F1].")))
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host)))
    assert narrative.status == "failed"
    assert narrative.reason.startswith("the quality gate rejected the model's text: it cites a fact id it was not "
                                       "given (summary: «[F99]»)")
    assert narrative.ungrounded == ["[F99]"]
    assert f"[F99] {UNVERIFIED}" in narrative.rejected_md


def test_an_overflowing_prompt_is_trimmed_before_sending(ollama: OllamaStandIn) -> None:
    filler = [
        Fact(f"F{i}", f"Median latency of benchmark case number {i} in the generic suite", 100.0 + i,
             "ms", (f"reports/case_{i}.csv",), importance=10)
        for i in range(11, 400)
    ]
    facts = FACTS + filler
    ollama.script(Reply(content=answer_json()))
    narrative = narrate(facts, chat=OllamaChat(settings_for(ollama.host, ollama_num_ctx=4096)))
    assert narrative.status == "ok", narrative.reason
    assert narrative.omitted_fact_ids and set(narrative.omitted_fact_ids) <= {f.id for f in filler}
    sent = ollama.requests_to("/api/chat")[0].body
    content = sent["messages"][1]["content"]
    for fid in narrative.omitted_fact_ids:
        assert f"[{fid}] " not in content
    for fact in FACTS:
        assert f"[{fact.id}] " in content  # the important facts survive
    # what Ollama counted for the prompt plus the answer reserve fits the window
    assert narrative.calls[0].prompt_eval_count + sent["options"]["num_predict"] <= 4096
    assert ollama.truncations == []
    md = narrative_markdown(narrative, facts)
    assert "> Left out of the model's prompt to fit num_ctx=4096" in md
    assert "F399 (Median latency of benchmark case number 399" in md
    assert narrative.to_json()["omitted_fact_ids"] == narrative.omitted_fact_ids


def test_a_context_window_too_small_fails_without_a_call(ollama: OllamaStandIn) -> None:
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host, ollama_num_ctx=512)))
    assert narrative.status == "failed"
    assert "num_ctx=512 is too small" in narrative.reason
    assert ollama.requests_to("/api/chat") == []


@pytest.mark.parametrize(
    "reply, expected",
    [
        (Reply(fault="404"), "not found on Ollama"),
        (Reply(fault="500"), "failed with HTTP 500"),
        (Reply(fault="slow", slow_s=5.0), "did not answer within 1 s"),
        (Reply(content=answer_json(), fault="broken"), "broke off before the answer was complete"),
        (Reply(content=""), "the model returned an empty answer"),
        (Reply(content="Sure! Here is your summary: throughput is great."), "not the JSON we asked for"),
        (Reply(content=json.dumps({"summary": "ok [F1]", "recommendations": ["one"], "risks": []})),
         "the model gave 1 recommendation(s), three were asked for"),
        (Reply(content=json.dumps({"summary": "ok", "recommendations": ["a", "b", "c"],
                                    "risks": [{"risk": "r", "mitigation": "m"}]})),
         "fewer than two risks"),
        (Reply(content='["not", "an", "object"]'), "not a JSON object"),
    ],
    ids=["404", "500", "timeout", "broken", "empty", "prose", "one-rec", "one-risk", "array"],
)
def test_every_failure_yields_a_data_only_narrative(ollama: OllamaStandIn, reply: Reply, expected: str) -> None:
    ollama.script(reply)
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host, ollama_timeout_s=1.0)))
    assert narrative.status == "failed"
    assert expected in narrative.reason
    assert "\n" not in narrative.reason
    assert narrative.summary_md == narrative.short_summary == ""
    md = narrative_markdown(narrative, FACTS)
    assert md == f"_Narrative not available: {narrative.reason}. The figures below come from the data alone._\n"
    data = narrative.to_json()
    assert data["status"] == "failed" and data["reason"] == narrative.reason
    json.dumps(data)


def test_unreachable_ollama_yields_the_one_line_reason() -> None:
    host = closed_port_url()
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(host)))
    assert narrative.status == "failed"
    assert narrative.reason == (
        f"Ollama at {host} unreachable: connection refused — start it with `ollama serve` or pass --no-llm"
    )
    assert narrative.calls and narrative.calls[0].ok is False
    assert "(failed)" in metrics_markdown(narrative)


def test_a_progress_callback_that_raises_does_not_break_the_narrative(ollama: OllamaStandIn) -> None:
    def boom(_message: str) -> None:
        raise RuntimeError("slack is down")

    ollama.script(Reply(content=answer_json()))
    assert narrate(FACTS, chat=OllamaChat(settings_for(ollama.host)), on_progress=boom).status == "ok"


def test_skipped_and_no_facts() -> None:
    skipped = Narrative.skipped("--no-llm given")
    assert skipped.status == "skipped"
    assert narrative_markdown(skipped, []) == (
        "_Narrative skipped: --no-llm given. The figures below come from the data alone._\n"
    )
    assert skipped.to_json()["calls"] == [] and skipped.to_json()["ungrounded_count"] == 0
    assert "no call made (skipped: --no-llm given)" in metrics_markdown(skipped)
    empty = narrate([], chat=OllamaChat(settings_for(closed_port_url())))
    assert empty.status == "skipped" and empty.reason == "no facts to narrate"


def test_model_markdown_cannot_break_the_report_structure(ollama: OllamaStandIn) -> None:
    # an unclosed HTML comment would hide the data tables after it; a heading or a newline in a list
    # item would break the outline and the numbered list — also in the appendix of a rejected text
    summary = "gemma3:270m leads at [F1].\n\n## Recommendations\n\nNothing to see <!-- hidden [F1]"
    recs = [
        "Keep gemma3:270m warm [F6].\n\n## Injected heading\n| a | b |",
        "Use <details><summary>x</summary> the best configuration [F7].",
        "Investigate the llama failures [F5].",
    ]
    risks = [("Cold starts <!-- [F6]", "Warm the model.\n# Big"), ("Quality [F1]", "Track it.")]
    ollama.script(Reply(content=answer_json(summary, recommendations=recs, risks=risks)))
    narrative = narrate(FACTS, chat=OllamaChat(settings_for(ollama.host)))
    assert narrative.status == "failed", narrative.reason  # headings and fragments do not pass the gate
    md = rejected_appendix(narrative)
    assert "<!--" not in md and "<details>" not in md
    headings = [line for line in md.splitlines() if line.lstrip().startswith("#")]
    assert headings == ["## Appendix: the model's text (NOT USED)"]
    rec_lines = [line for line in md.splitlines() if line[:3] in ("1. ", "2. ", "3. ")]
    assert len(rec_lines) == 3 and "**2** [F6]" in rec_lines[0] and "Injected heading" in rec_lines[0]


# --- a prompt Ollama cuts anyway (issue 11) -------------------------------------------------------


def _filler(count: int = 300) -> list[Fact]:
    return [Fact(f"F{i}", f"Median latency of benchmark case number {i} in the generic suite", 100.0 + i,
                 "ms", (f"reports/case_{i}.csv",), importance=10) for i in range(11, 11 + count)]


@pytest.mark.parametrize("mode", ["num_ctx", "num_ctx-1", "half", "error"])
def test_a_prompt_ollama_cuts_is_retried_once_with_fewer_facts(mode: str) -> None:
    # The served tokenizer counts twice what the estimate expects (a model it does not know): the
    # fitted prompt's true size exceeds num_ctx, and Ollama cuts it the way each version does —
    # prompt_eval_count == num_ctx (<= 0.2x), num_ctx - 1 (0.30.0-0.30.10), about half the window
    # (>= 0.30.11), or HTTP 400 naming the context length.
    facts = FACTS + _filler()
    with OllamaStandIn(truncation=mode, replies=[Reply(content=answer_json(), prompt_scale=2.0)]) as server:
        narrative = narrate(facts, chat=OllamaChat(settings_for(server.host, ollama_num_ctx=4096)))
        first, retry = server.requests_to("/api/chat")
        cuts = server.truncations
    assert len(cuts) == 1 and cuts[0].prompt_tokens > 4096  # only the first prompt was cut
    assert narrative.status == "ok", narrative.reason
    cut = narrative.prompt_cut
    assert cut is not None and cut.retried and cut.retry_reason == ""
    assert ("cut the prompt" in cut.reason) or ("refused the prompt as longer than num_ctx=4096" in cut.reason)
    first_ids = {f.id for f in facts if f"[{f.id}] " in first.body["messages"][1]["content"]}
    retry_ids = {f.id for f in facts if f"[{f.id}] " in retry.body["messages"][1]["content"]}
    assert retry_ids < first_ids and set(cut.dropped_fact_ids) == first_ids - retry_ids
    # least important first: every fact dropped for the retry matters no more than any kept one
    by_id = {f.id: f for f in facts}
    assert max(by_id[i].importance for i in cut.dropped_fact_ids) <= min(by_id[i].importance for i in retry_ids)
    assert {f.id for f in FACTS} <= retry_ids
    assert set(cut.dropped_fact_ids) <= set(narrative.omitted_fact_ids)
    data = narrative.to_json()
    assert data["truncation"]["retried"] is True and data["truncation"]["dropped_fact_ids"] == cut.dropped_fact_ids
    md = narrative_markdown(narrative, facts)
    assert "> Ollama cut the first prompt (" in md and "least important first" in md


def test_a_prompt_cut_twice_falls_back_to_the_data_with_the_reason() -> None:
    facts = FACTS + _filler()
    with OllamaStandIn(replies=[Reply(content=answer_json(), prompt_scale=8.0)]) as server:
        narrative = narrate(facts, chat=OllamaChat(settings_for(server.host, ollama_num_ctx=4096)))
        assert len(server.requests_to("/api/chat")) == 2  # one retry, no more
        assert len(server.truncations) == 2
    assert narrative.status == "failed"
    assert narrative.reason.startswith("Ollama cut the prompt again after the retry with ")
    assert "raise OLLAMA_NUM_CTX" in narrative.reason and "the summary comes from the data alone" in narrative.reason
    assert narrative.summary_md == narrative.short_summary == ""
    assert narrative.prompt_cut is not None and narrative.prompt_cut.retry_reason
    assert [c.prompt_eval_count for c in narrative.calls] == [4096, 4096]
    md = narrative_markdown(narrative, facts)
    assert md.startswith("_Narrative not available: Ollama cut the prompt again")


def test_an_uncut_count_above_the_estimate_raises_the_estimate_for_the_next_run(ollama: OllamaStandIn) -> None:
    # 1.3x the stand-in's count is above the estimate but fits num_ctx: not a cut, a lesson
    ollama.script(Reply(content=answer_json(), prompt_scale=1.3))
    estimator = TokenEstimator()
    chat = OllamaChat(settings_for(ollama.host, ollama_num_ctx=8192))
    first = narrate(FACTS, chat=chat, estimator=estimator)
    assert first.status == "ok" and first.prompt_cut is None
    assert first.calls[0].prompt_eval_count > first.prompt_tokens_estimated
    assert estimator.factor > 1.0
    second = narrate(FACTS, chat=chat, estimator=estimator)
    assert second.prompt_tokens_estimated >= first.calls[0].prompt_eval_count
