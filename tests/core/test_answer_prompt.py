"""The follow-up answer prompt (`bot.core.prompts.answer`): computed facts first, thread history
trimmed oldest first, every character budgeted by its real cost."""

from __future__ import annotations

import pytest

from bot.core.prompts.answer import ThreadMessage, build_answer_prompt
from bot.core.prompts.budget import TokenEstimator
from bot.core.types import Fact
from bot.errors import AnswerDoesNotFit
from tests.followup_support import FACTS


def test_prompt_keeps_computed_facts_first_and_trims_history_oldest_first() -> None:
    history = [ThreadMessage("person", f"message number {i} " + "words " * 60) for i in range(40)]
    many = FACTS + [Fact(f"F{i}", f"Fact {i}: median TTFT of some-model:{i}b at num_ctx=4096 over warm "
                         "requests, with its definition spelled out at length.", float(i), "ms", ("a.csv",),
                         importance=90 - i) for i in range(2, 60)]
    estimator = TokenEstimator()
    prompt = build_answer_prompt("what's p95 latency for q8_0?", many, history, num_ctx=2048,
                                 estimator=estimator)
    user = prompt.messages[1]["content"]
    assert prompt.estimated_tokens <= 2048 - 512
    assert prompt.fact_ids[0] == "Q1" and "[Q1] p95 latency" in user
    assert prompt.omitted_fact_ids and prompt.omitted_fact_ids[-1] == "F59"  # least important out
    assert 0 < prompt.history_used < 40 and prompt.history_dropped == 40 - prompt.history_used
    assert "message number 39" in user and "message number 0 " not in user  # newest kept
    assert user.rstrip().endswith("Question: what's p95 latency for q8_0?\nAnswer now, citing fact ids.")


def test_non_ascii_history_is_budgeted_by_its_real_cost() -> None:
    # CJK text costs about a token per character: counted as plain chars it would overflow num_ctx
    history = [ThreadMessage("person", f"{i} " + "性能测试结果" * 60) for i in range(30)]
    prompt = build_answer_prompt("why?", FACTS, history, num_ctx=2048, estimator=TokenEstimator())
    cjk = sum(1 for c in prompt.messages[1]["content"] if ord(c) > 127)
    assert cjk <= 2048 - 512  # at most one token per CJK character fits beside the answer
    assert 0 < prompt.history_used < 30


def test_prompt_that_cannot_fit_says_so() -> None:
    with pytest.raises(AnswerDoesNotFit, match="OLLAMA_NUM_CTX"):
        build_answer_prompt("why?", FACTS, [], num_ctx=600)
