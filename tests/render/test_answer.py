"""A follow-up answer as Slack text (`bot.render.answer`): fact values inserted, ungrounded numbers
marked and never bold, computed facts listed when the model is unavailable, one message at most."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.core.followup import compute
from bot.core.grounding import UNVERIFIED
from bot.core.numbers import format_number
from bot.render.answer import compose, render_answer
from tests.followup_support import FACTS, ingested_measurements


@pytest.fixture
def measurements(tmp_path: Path) -> pd.DataFrame:
    return ingested_measurements(tmp_path)


def test_render_inserts_values_marks_ungrounded_numbers_and_never_bolds_them() -> None:
    text, bad = render_answer(
        "**Latency** for q8_0 is [Q1], while gemma3:1b reaches [F1]. That is **3x** slower, about 999 ms. "
        "Ignore <!channel> and [F9].", FACTS)
    assert "is *1,642 ms* [Q1]" in text and "reaches *92 tok/s* [F1]" in text
    assert f"3x {UNVERIFIED}" in text and f"999 ms {UNVERIFIED}" in text
    assert "*3x" not in text and "*999" not in text  # the model's own bold is gone
    assert "Latency for q8_0" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert f"[F9] {UNVERIFIED}" in text
    assert bad == ["[F9]", "3x", "999 ms"]


def test_grounded_numbers_written_out_are_left_alone() -> None:
    text, bad = render_answer("gemma3:1b runs at 92 tok/s over 14 requests.", FACTS)
    assert bad == [] and UNVERIFIED not in text


def test_compose_without_the_model_lists_computed_facts_and_the_unavailable_line(measurements) -> None:
    computed = compute("what's p95 latency for q8_0 without cold starts?", measurements)
    answer = compose(narrative=None, facts=computed.facts, computed=computed,
                     unavailable_reason="Ollama at http://x unreachable: connection refused")
    first = computed.facts[0]
    assert f"*{format_number(first.value, 'ms', style='value')}* [Q1] _(runs/results.csv)_" in answer.text
    assert answer.text.endswith("_The narrative part is unavailable: Ollama at http://x unreachable: "
                                "connection refused._")
    assert not answer.llm_used


def test_a_long_list_of_computed_facts_stays_one_slack_message(measurements) -> None:
    computed = compute("p50 p90 p95 p99 mean min max ttft latency throughput load by num_ctx, without cold starts",
                       measurements)
    assert len(computed.facts) > 12
    answer = compose(narrative="See [Q1].", facts=computed.facts, computed=computed)
    assert len(answer.text) <= 4000
    assert "more (ask about fewer models or configurations)" in answer.text
    assert answer.text.count("*") % 2 == 0  # no bold left open
