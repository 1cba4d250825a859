"""Follow-up questions, core parts (`bot.core.followup`): parsing a question, computing new facts
(checked against pandas computed here from the raw rows), and stored facts read back.

Rendering the answer is in tests/render/test_answer.py, fitting the prompt in
tests/core/test_answer_prompt.py, the thread's history in tests/flows/test_thread_answer.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.core.followup import compute, parse_question
from bot.core.numbers import format_number
from bot.core.prompts.answer import ThreadMessage
from bot.core.types import facts_from_json
from tests.followup_support import FACTS, ingested_measurements, raw_rows
from tests.ingest_support import ingest_files

MODELS = ["gemma3:1b", "gemma3:270m", "llama3.1:8b-instruct-q8_0", "llama3.2:1b"]
CONFIGS = ["num_ctx=1024,temperature=0.2", "num_ctx=4096,temperature=0.2"]


def parse(question: str):
    return parse_question(question, models=MODELS, configs=CONFIGS)


# --- parsing ---------------------------------------------------------------------------------


def test_p95_latency_for_a_quantisation_suffix_without_cold_starts() -> None:
    q = parse("what's p95 latency for q8_0 without cold starts?")
    assert q.models == ("llama3.1:8b-instruct-q8_0",)
    assert (q.metrics, q.statistics, q.cold) == (("latency_ms",), ("p95",), "exclude")
    assert not q.problems and q.wants_numbers


@pytest.mark.parametrize("text", ["num_ctx 4096", "num_ctx=4096", "num_ctx: 4096", "4096 context", "NUM_CTX = 4096"])
def test_configuration_filters_in_several_spellings(text: str) -> None:
    q = parse(f"median TTFT of gemma3:1b at {text}")
    assert q.config == (("num_ctx", "4096"),)
    assert q.models == ("gemma3:1b",) and q.metrics == ("ttft_ms",) and q.statistics == ("median",)


@pytest.mark.parametrize(
    ("question", "models"),
    [
        ("why is TTFT worse for 1b at num_ctx 4096?", ("gemma3:1b", "llama3.2:1b")),
        ("gemma3 1b vs llama3.2:1b throughput", ("gemma3:1b", "llama3.2:1b")),  # adjacent: narrowed
        ("compare gemma3 and q8_0", ("gemma3:1b", "gemma3:270m", "llama3.1:8b-instruct-q8_0")),
        ("tok/s for LLAMA3.1:8B-INSTRUCT-Q8_0", ("llama3.1:8b-instruct-q8_0",)),
        ("how fast is gemma 270m?", ("gemma3:270m",)),
        ("what did <@U0001> mean in the summary?", ()),  # a mention is never a model
    ],
)
def test_models_by_full_name_or_part(question: str, models: tuple[str, ...]) -> None:
    assert parse(question).models == models


@pytest.mark.parametrize(
    ("question", "metric", "stat"),
    [
        ("p99 time to first token", "ttft_ms", "p99"),
        ("average tokens per second", "throughput_tok_s", "mean"),
        ("max end-to-end latency", "latency_ms", "max"),
        ("p50 load time", "load_ms", "median"),
        ("minimum tok/s", "throughput_tok_s", "min"),
    ],
)
def test_metric_and_statistic_words(question: str, metric: str, stat: str) -> None:
    q = parse(question)
    assert q.metrics == (metric,) and q.statistics == (stat,)


def test_comparison_cold_start_and_failure_words() -> None:
    assert parse("gemma3:1b vs gemma3:270m").compare
    assert not parse("p95 ttft for gemma3:1b").compare
    assert parse("ttft of cold starts only").cold == "only"
    assert parse("ttft, warm requests").cold == "exclude"
    assert parse("ttft including cold starts").cold == "include"
    assert parse("how many requests failed for q8_0?").failures
    assert parse("how does num_ctx affect throughput?").split_by == ("num_ctx",)


def test_unknown_model_is_said_back_with_the_runs_models() -> None:
    q = parse("p95 ttft for q4_k_m?")
    assert q.problems == (("I don't see a model named `q4_k_m`; models in this run: gemma3:1b, gemma3:270m, "
                           "llama3.1:8b-instruct-q8_0, llama3.2:1b."),)
    assert parse("how does mistral:7b compare?").problems[0].startswith("I don't see a model named `mistral:7b`")


def test_unknown_configuration_value_is_said_back_with_the_values() -> None:
    q = parse("latency at num_ctx=2048")
    assert q.problems == ("I don't see num_ctx=2048 in this run; its values are 1024, 4096.",)


def test_a_general_question_asks_for_nothing_to_compute() -> None:
    assert not parse("why is the summary saying that?").wants_numbers


# --- computing -------------------------------------------------------------------------------


@pytest.fixture
def measurements(tmp_path: Path) -> pd.DataFrame:
    return ingested_measurements(tmp_path)


def test_new_aggregate_matches_pandas_on_the_same_rows(measurements: pd.DataFrame) -> None:
    result = compute("what's p95 latency for q8_0 without cold starts?", measurements)
    raw = pd.DataFrame(raw_rows())
    rows = raw[(raw["model"] == "llama3.1:8b-instruct-q8_0") & (raw["error"] == "") & (raw["load_s"] < 1)]
    expected = ((rows["ttft_s"] + rows["eval_s"]) * 1000).quantile(0.95)
    q1 = result.facts[0]
    assert q1.id == "Q1" and q1.metric == "latency_ms" and q1.unit == "ms"
    assert q1.value == pytest.approx(expected)
    assert q1.rows == len(rows) == 12
    assert q1.sources == ("runs/results.csv",)
    assert "cold starts excluded" in q1.statement and "derived as TTFT + eval" in q1.statement
    # the cold-start count comes along, so the answer can say what was left out
    assert result.facts[1].value == 2 and result.facts[1].metric == "cold_starts"
    assert result.notes == []


def test_comparison_of_a_named_level_with_the_others(measurements: pd.DataFrame) -> None:
    result = compute("why is TTFT worse for 1b at num_ctx 4096?", measurements)
    raw = pd.DataFrame(raw_rows())
    ok = raw[(raw["model"] == "gemma3:1b") & (raw["error"] == "")]
    at_4096 = (ok[ok["num_ctx"] == 4096]["ttft_s"] * 1000).median()
    at_1024 = (ok[ok["num_ctx"] == 1024]["ttft_s"] * 1000).median()
    q1, q2, q3 = result.facts[:3]
    assert (q1.config, q2.config) == ("num_ctx=4096", "num_ctx=1024")
    assert q1.value == pytest.approx(at_4096) and q2.value == pytest.approx(at_1024)
    assert q3.unit == "%" and q3.value == pytest.approx(100 * (at_4096 - at_1024) / at_1024)
    assert "cold starts included" in q1.statement


def test_failures_are_counted_not_averaged(measurements: pd.DataFrame) -> None:
    result = compute("how many requests failed for gemma3?", measurements)
    (fact,) = result.facts
    assert (fact.value, fact.rows, fact.unit) == (1, 15, "requests")


def test_unknown_model_computes_nothing_and_says_why(measurements: pd.DataFrame) -> None:
    result = compute("p95 ttft of q4_k_m", measurements)
    assert result.facts == []
    assert result.notes == [("I don't see a model named `q4_k_m`; models in this run: gemma3:1b, "
                             "llama3.1:8b-instruct-q8_0.")]


def test_per_model_statistics_when_no_model_is_named(measurements: pd.DataFrame) -> None:
    result = compute("median throughput", measurements)
    raw = pd.DataFrame(raw_rows())
    by_model = raw[raw["error"] == ""].groupby("model")["tokens_s"].median()
    assert {f.model: f.value for f in result.facts} == pytest.approx(by_model.to_dict())


# --- stored facts ----------------------------------------------------------------------------


def test_stored_facts_round_trip_and_malformed_ones_are_skipped() -> None:
    docs = [f.to_json() for f in FACTS] + [{"id": "F7"}, "junk", {"id": "F8", "value": "x"}]
    back = facts_from_json(docs)
    assert [f.id for f in back] == ["Q1", "F1"]
    assert back[0].value == FACTS[0].value and back[0].rows == 12 and back[0].sources == FACTS[0].sources
    assert back[0].importance > back[1].importance
    assert facts_from_json(None) == []
    assert np.isfinite(back[1].value)


# --- rankings (issue 11) -----------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "rank", "end", "models"), [
    ("which configuration is fastest for q8_0?", "configs", "best", ("llama3.1:8b-instruct-q8_0",)),
    ("best num_ctx for gemma3:270m", "num_ctx", "best", ("gemma3:270m",)),
    ("which model is fastest?", "models", "best", ()),
    ("slowest setting of gemma3:1b", "configs", "worst", ("gemma3:1b",)),
    ("lowest TTFT configuration for gemma3:1b", "configs", "low", ("gemma3:1b",)),
    ("rank the models by p95 latency", "models", "best", ()),
    ("compare gemma3:1b vs gemma3:270m", "", "best", ("gemma3:1b", "gemma3:270m")),
])
def test_ranking_questions_are_recognised(question: str, rank: str, end: str, models: tuple[str, ...]) -> None:
    q = parse(question)
    assert (q.rank, q.models) == (rank, models)
    if rank:
        assert q.rank_end == end and q.wants_numbers and not q.compare


def _welch_p(a: pd.Series, b: pd.Series) -> float:
    from scipy.stats import ttest_ind

    return float(ttest_ind(a, b, equal_var=False).pvalue)


def test_which_configuration_is_fastest_is_ranked_with_the_noise_test(measurements: pd.DataFrame) -> None:
    result = compute("which configuration is fastest for q8_0?", measurements)
    raw = pd.DataFrame(raw_rows())
    ok = raw[(raw["model"] == "llama3.1:8b-instruct-q8_0") & (raw["error"] == "")]
    at = {ctx: ok[ok["num_ctx"] == ctx]["tokens_s"] for ctx in (1024, 4096)}
    q1, q2, q3 = result.facts
    assert q1.value == pytest.approx(at[1024].median()) and q1.config == "num_ctx=1024"
    p = _welch_p(at[1024], at[4096])
    assert p > 0.05  # the two levels overlap: nothing is demonstrably fastest
    assert q1.statement == (
        "Best of 2 configurations of llama3.1:8b-instruct-q8_0 by median (p50) throughput: num_ctx=1024 at "
        f"{format_number(at[1024].median(), 'tok/s', style='statement')} (n=7); runner-up num_ctx=4096 at "
        f"{format_number(at[4096].median(), 'tok/s', style='statement')} (n=7); gap 3.00 tok/s (6.4%), "
        f"within the noise (Welch t-test, p={p:.2g}).")
    assert (q2.config, q3.config) == ("num_ctx=1024", "num_ctx=4096")
    assert result.notes == ["No configuration of llama3.1:8b-instruct-q8_0 is demonstrably best: the leader's "
                            "margin over the runner-up is within the noise [Q1]."]


def test_which_model_is_fastest_says_when_the_lead_exceeds_the_noise(measurements: pd.DataFrame) -> None:
    result = compute("which model is fastest?", measurements)
    raw = pd.DataFrame(raw_rows())
    ok = raw[raw["error"] == ""]
    p = _welch_p(ok[ok["model"] == "gemma3:1b"]["tokens_s"], ok[ok["model"] != "gemma3:1b"]["tokens_s"])
    assert result.facts[0].statement.startswith("Best of 2 models by median (p50) throughput: gemma3:1b at ")
    assert result.facts[0].statement.endswith(f"exceeds the noise (Welch t-test, p={p:.2g}).")
    assert result.notes == []


def _rows_csv(rows: list[tuple[str, int, float]]) -> str:
    return "model,num_ctx,tokens_s,ttft_s,error\n" + "".join(f"{m},{c},{t},0.1,\n" for m, c, t in rows)


def test_one_configuration_only_is_said_not_ranked(tmp_path: Path) -> None:
    rows = [("m:1b", 1024, 50.0 + i) for i in range(5)]
    measurements = ingest_files(tmp_path, {"r.csv": _rows_csv(rows)}).measurements
    result = compute("which configuration is fastest for m:1b?", measurements)
    # num_ctx never varies for m:1b, so it is context, not configuration (issue 10)
    assert result.notes == ["Only one configuration of m:1b has throughput values in this run (m:1b): "
                            "there is nothing to rank it against."]
    assert [f.config for f in result.facts] == [""]  # its figure, unranked


def test_one_request_per_configuration_makes_nothing_demonstrably_best(tmp_path: Path) -> None:
    rows = [("m:1b", ctx, 50.0 + ctx / 1024) for ctx in (1024, 2048, 4096)]
    measurements = ingest_files(tmp_path, {"r.csv": _rows_csv(rows)}).measurements
    result = compute("best num_ctx for m:1b", measurements)
    q1 = result.facts[0]
    assert q1.config == "num_ctx=4096" and q1.value == pytest.approx(54.0)
    assert q1.statement.endswith("not separable from noise (n=1 vs n=1: too few samples to separate from noise).")
    assert result.notes == ["Every one of the 3 num_ctx levels of m:1b has a single successful request, so none is "
                            "demonstrably best: one request per side cannot be told apart from noise [Q1]."]


def test_compare_a_vs_b_carries_the_noise_test(measurements: pd.DataFrame) -> None:
    result = compute("compare gemma3:1b vs q8_0 throughput", measurements)
    diff = next(f for f in result.facts if f.unit == "%")
    assert "; exceeds the noise (Welch t-test, p=" in diff.statement


def test_earlier_questions_come_back_as_computed_facts_never_as_the_bots_text(measurements: pd.DataFrame) -> None:
    from bot.flows.thread_answer import earlier_facts

    current = compute("p95 ttft for q8_0?", measurements)
    history = [ThreadMessage("person", "thanks!"), ThreadMessage("person", "median throughput of gemma3:1b?"),
               ThreadMessage("person", "p95 ttft for q8_0?")]  # asked again: nothing new
    earlier = earlier_facts(history, measurements, first_id=len(current.facts) + 1, known=current.facts)
    assert [f.id for f in earlier] == [f"Q{len(current.facts) + i}" for i in range(1, len(earlier) + 1)]
    assert earlier and all(f.model == "gemma3:1b" for f in earlier)
    assert earlier[0].statement.startswith("median (p50) throughput of gemma3:1b")
    assert max(f.importance for f in earlier) < min(f.importance for f in current.facts)
