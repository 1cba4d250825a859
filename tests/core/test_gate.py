"""The quality gate between the model and Slack, and the bad-sentence corpus (issue 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.gate import RULES, judge, judge_answer
from tests.factories import bad_sentences, chimera_reports_facts

FACTS = chimera_reports_facts()
CITABLE = {f.id for f in FACTS}

# A narrative that passes: every sentence cites the fact it rests on, ~140 words.
SUMMARY = ("**Throughput:** gemma3:270m leads at [F3], ahead of gemma3:1b-it-qat [F5] and gemma3:latest [F7]. "
           "The llama3.1 quantisations are slower: q4_0 reaches [F8] and q8_0 only [F10]. "
           "**TTFT** of warm requests is lowest for gemma3:270m at [F12], against [F13] for gemma3:latest. "
           "Failures matter: [F2] requests failed, most often because Ollama could not be reached [F26]. "
           "Cold starts dominate the first answers of gemma3:latest, whose cold median TTFT is [F36]. "
           "Across num_ctx levels the throughput differences of gemma3:270m stay within the noise [F55].")
RECOMMENDATIONS = [
    "Prefer gemma3:270m for latency-sensitive traffic, since it has the lowest warm TTFT [F12].",
    "Fix the connection failures before comparing llama3.1 quantisations [F26].",
    "Keep gemma3:latest loaded with a longer keep_alive to avoid its slow cold starts [F36].",
]
RISKS = [("Warm TTFT p95 of llama3.1:8b-instruct-q8_0 rests on few requests [F22].", "Rerun it with more requests."),
         ("The archive's own summaries misstate some figures [F29].", "Use the values recomputed from the raw rows.")]


def content(summary: str = SUMMARY, recommendations: list[str] = RECOMMENDATIONS,
            risks: list[tuple[str, str]] = RISKS) -> str:
    return json.dumps({"summary": summary, "recommendations": recommendations,
                       "risks": [{"risk": r, "mitigation": m} for r, m in risks]})


def rules(text: str, **kwargs: Any) -> set[str]:
    _answer, verdict = judge(text, facts=FACTS, citable=CITABLE, **kwargs)
    return {p.rule for p in verdict.problems}


def test_a_good_narrative_passes_and_says_what_was_checked() -> None:
    answer, verdict = judge(content(), facts=FACTS, citable=CITABLE)
    assert verdict.passed and verdict.reasons == [] and answer is not None
    assert verdict.checked == {"sentences": 13, "citations": 16, "numbers": 0, "recommendations": 3, "risks": 2,
                               "words": 143}
    data = verdict.to_json()
    assert data == {"passed": True, "reasons": [], "checked": verdict.checked, "problems": []}


# --- the corpus: every bad sentence rejected for its reason, every good one accepted -------------------


def _placed(entry: dict[str, Any]) -> str:
    """The entry where it was written: raw model output, a recommendation, or a summary sentence."""
    if entry["role"] == "raw":
        return str(entry["text"])
    if entry["role"] == "recommendation":
        return content(recommendations=[entry["text"], *RECOMMENDATIONS[1:]])
    return content(summary=f"{SUMMARY} {entry['text']}")


CORPUS = bad_sentences()


@pytest.mark.parametrize("entry", [e for e in CORPUS if e["expect"] == "reject"],
                         ids=lambda e: f"{e['kind']}:{e['text'][:40]}")
def test_every_bad_sentence_is_rejected_for_its_reason(entry: dict[str, Any]) -> None:
    _answer, verdict = judge(_placed(entry), facts=FACTS, citable=CITABLE)
    assert not verdict.passed
    assert entry["rule"] in {p.rule for p in verdict.problems}, verdict.reasons
    assert entry["rule"] in RULES


@pytest.mark.parametrize("entry", [e for e in CORPUS if e["expect"] == "accept"], ids=lambda e: e["text"][:50])
def test_every_good_sentence_is_accepted(entry: dict[str, Any]) -> None:
    _answer, verdict = judge(_placed(entry), facts=FACTS, citable=CITABLE)
    assert verdict.passed, verdict.reasons


def test_the_corpus_holds_the_issues_sentences_and_the_real_runs() -> None:
    assert sum(e["expect"] == "reject" for e in CORPUS) == 33 and sum(e["expect"] == "accept" for e in CORPUS) == 9
    assert any(e["text"] == "llama3.1:8b-instruct-q8_0: median throughput 290.0 tok/s" for e in CORPUS)
    assert sum(e["source"].startswith("real:") for e in CORPUS) == 12


# --- the rules one by one -------------------------------------------------------------------------------


def test_an_answer_cut_at_the_token_limit_or_off_format_is_rejected() -> None:
    assert rules(content(), done_reason="length") == {"cut_off"}
    assert rules('{"summary": "The model is trained on 1000000000', done_reason="length") == {"cut_off", "off_format"}
    answer, verdict = judge("not json", facts=FACTS, citable=CITABLE)
    assert answer is None and verdict.reasons == ["the answer is not the JSON asked for (answer: «the model's "
                                                  "answer is not the JSON we asked for»)"]


def test_recommendations_and_risks_rest_on_cited_facts_and_are_not_fragments() -> None:
    recs = ["Use the fastest model.", *RECOMMENDATIONS[1:]]
    assert rules(content(recommendations=recs)) == {"uncited_recommendation"}
    risks = [("high", "Rerun it with more requests."), RISKS[1]]
    assert rules(content(risks=risks)) == {"too_short", "uncited_recommendation"}
    assert rules(content(recommendations=["warmest [F3]", *RECOMMENDATIONS[1:]])) == {"too_short"}


def test_repeated_sentences_and_loops_are_rejected() -> None:
    twice = content(recommendations=[RECOMMENDATIONS[0], RECOMMENDATIONS[0], RECOMMENDATIONS[2]])
    assert rules(twice) == {"repeated"}
    looping = content(summary=SUMMARY + " It reaches [F3] [F3] [F3] [F3] [F3] [F3] [F3] [F3].")
    assert "looping" in rules(looping)


def test_the_length_is_what_was_asked() -> None:
    assert rules(content(summary="gemma3:270m leads at [F3].")) == {"length"}
    _answer, verdict = judge(content(), facts=FACTS, citable=CITABLE, words=(300, 400))
    assert [p.rule for p in verdict.problems] == ["length"]
    assert verdict.problems[0].text == "143 words; 300-400 were asked for"


def test_a_reason_line_says_how_often_and_where() -> None:
    text = content(summary=SUMMARY + " It is fast. It is really fast. It is really, really fast.")
    _answer, verdict = judge(text, facts=FACTS, citable=CITABLE)
    assert verdict.reasons == ["a sentence cites no fact (2×, summary: «It is really fast.»)"]


def test_a_follow_up_answer_is_judged_on_numbers_citations_loops_and_length() -> None:
    ok = judge_answer("gemma3:270m is the fastest at [F3]. The data has no p99 latency.", facts=FACTS,
                      citable=CITABLE)
    assert ok.passed, ok.reasons
    loop = "\n".join(["[F74] «reports/compilation/transformer_cuda_triton2508.json»: fastest case backend=jit at "
                      "0.321 ms mean (mean time). (n=4)"] * 11)
    verdict = judge_answer(loop, facts=FACTS, citable=CITABLE, done_reason="length")
    assert {p.rule for p in verdict.problems} >= {"cut_off", "unknown_citation", "repeated"}
    invented = judge_answer("p99 latency for q8_0 is roughly 12 ms better than last week [F52].", facts=FACTS,
                            citable=CITABLE)
    assert [p.rule for p in invented.problems] == ["ungrounded_number"]
