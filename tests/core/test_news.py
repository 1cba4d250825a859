"""What a digest calls news (`bot.core.news.build_news`), on seeded synthetic archives (tests/synth.py).

One test per kind of news (issue 14, "News is never a green check"), and the issue's "Why" cases
that concern archives rather than one series: a changed seed or an added column must not make the
comparison disappear, 40 % failed / all failed / a vanished model must be news, and the unit must
be compared (``tok/min`` vs ``tok/s`` is converted, never "+5863 %").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.core.comparable import ConfigDiff, comparable_config, match_configs, parse_selector, select_config
from bot.core.news import LEVELS, Snapshot, build_news
from bot.core.regression import IMPROVEMENT, NO_CHANGE, REGRESSION
from bot.core.types import MEASUREMENT_COLUMNS
from tests.news_support import CTX2K, CTX8K, GEMMA, LLAMA, QWEN, failing, history, kinds, newest, news_of, with_frame
from tests.synth import DEFAULT_CONFIGS, DEFAULT_MODELS, synth_archive

# --------------------------------------------------------------------------- no news is the only green


def test_realistic_noise_without_change_is_no_news_across_seeds() -> None:
    noisy = []
    for seed in range(12):
        news = build_news(newest(seed), history(seed))
        assert news.baseline == "nightly/05" and news.history == tuple(f"nightly/{i:02d}" for i in range(6))
        assert news.compared == len(DEFAULT_MODELS) * len(DEFAULT_CONFIGS) * 2  # throughput and TTFT
        if news.items:
            noisy.append((seed, kinds(news)))
    assert len(noisy) <= 1, noisy


def test_a_first_digest_has_nothing_to_compare_and_no_news() -> None:
    news = build_news(newest(), [])
    assert news.baseline is None and news.items == () and news.series == ()


def test_the_frames_are_read_never_written() -> None:
    current, earlier = newest(), history()
    before = [s.frame.copy() for s in [current, *earlier]]
    build_news(current, earlier)
    for frame, snapshot in zip(before, [current, *earlier], strict=True):
        pd.testing.assert_frame_equal(frame, snapshot.frame)


# --------------------------------------------------------------------------- each kind of news


def test_a_20pct_throughput_drop_is_a_regression_with_its_interval() -> None:
    news = news_of(newest(throughput_factor={LLAMA: 0.8}))
    regressions = news.of_kind("regression")
    assert [(i.model, i.config, i.metric) for i in regressions] == [
        (LLAMA, CTX2K, "throughput_tok_s"), (LLAMA, CTX8K, "throughput_tok_s")]
    for item in regressions:
        v = item.series.verdict
        assert v.status == REGRESSION and -0.25 < v.rel_change < -0.15
        lo, hi = v.interval
        assert lo < v.rel_change < hi < 0
        assert item.level in ("minor", "major") and v.severity_max in ("major", "critical")
        assert item.series.baseline_labels == news.history  # the last k runs, not one
    assert news.worst is regressions[0] or news.worst.level == "major"
    assert set(kinds(news)) == {"regression"}


def test_an_improvement_is_news_but_not_bad_news() -> None:
    news = news_of(newest(ttft_factor={GEMMA: 0.6}))
    assert {(i.kind, i.level, i.model, i.metric) for i in news.items} == {
        ("improvement", "info", GEMMA, "ttft_ms")}
    assert all(i.series.verdict.status == IMPROVEMENT for i in news.items)


def test_40pct_failed_requests_is_failure_rate_up() -> None:
    current = newest()
    news = news_of(with_frame(current, failing(current.frame, QWEN, 0.4)))
    items = news.of_kind("failure rate up")
    assert [(i.model, i.level) for i in items] == [(QWEN, "major"), (QWEN, "major")]
    for item in items:
        assert item.requests.rate > 0.25 and item.baseline_requests.rate < 0.1
        assert item.requests.reasons[0] == "HTTP 500: out of memory"
    assert news.worst.kind == "failure rate up"


def test_a_few_more_failures_are_not_news() -> None:
    current = newest()
    news = news_of(with_frame(current, failing(current.frame, QWEN, 0.07)))
    assert not news.of_kind("failure rate up")


def test_every_request_failed_is_critical_and_nothing_else_is_said_of_it() -> None:
    current = newest()
    frame = failing(current.frame, GEMMA, 1.0)
    news = news_of(with_frame(current, frame))
    dead = news.of_kind("every request failed")
    assert [(i.model, i.config, i.level) for i in dead] == [(GEMMA, CTX2K, "critical"), (GEMMA, CTX8K, "critical")]
    assert dead[0].requests.failed == dead[0].requests.total == 30
    assert news.worst.kind == "every request failed"
    assert not [i for i in news.items if i.model == GEMMA and i.kind != "every request failed"]


def test_a_vanished_model_is_news_and_so_is_a_new_one() -> None:
    current = newest()
    frame = current.frame
    frame = frame[frame["model"] != LLAMA]
    extra = synth_archive(5, archive=99, models=[DEFAULT_MODELS[0].__class__("phi4:14b", 30.0, 0.03, 300.0)])
    news = news_of(with_frame(current, pd.concat([frame, extra])))
    gone = news.of_kind("model gone")
    assert [(i.model, i.level, i.configs) for i in gone] == [(LLAMA, "major", (CTX2K, CTX8K))]
    assert [(i.model, i.level) for i in news.of_kind("model new")] == [("phi4:14b", "info")]
    assert news.worst.kind == "model gone"


def test_a_configuration_gone_or_new_is_news() -> None:
    current = newest()
    frame = current.frame
    frame = frame[~((frame["model"] == QWEN) & (frame["config"] == CTX8K))]
    more = synth_archive(5, archive=99, models=[m for m in DEFAULT_MODELS if m.name == GEMMA],
                         configs=["num_ctx=32768,num_gpu=999,temperature=0.2"])
    news = news_of(with_frame(current, pd.concat([frame, more])))
    assert [(i.model, i.configs, i.level) for i in news.of_kind("configuration gone")] == [
        (QWEN, (CTX8K,), "minor")]
    assert [(i.model, i.configs) for i in news.of_kind("configuration new")] == [
        (GEMMA, ("num_ctx=32768,num_gpu=999,temperature=0.2",))]


def test_a_changed_value_names_its_dimension_and_is_not_compared() -> None:
    current = newest()
    frame = current.frame.copy()
    frame.loc[frame["model"] == QWEN, "config"] = frame.loc[frame["model"] == QWEN, "config"].str.replace(
        "temperature=0.2", "temperature=0.7")
    news = news_of(with_frame(current, frame))
    changed = news.of_kind("configuration changed")
    assert len(changed) == 2 and not news.of_kind("configuration gone", "configuration new")
    assert {(i.previous_config, i.config) for i in changed} == {
        (CTX2K, CTX2K.replace("0.2", "0.7")), (CTX8K, CTX8K.replace("0.2", "0.7"))}
    assert all(i.diff.changed == (("temperature", "0.2", "0.7"),) for i in changed)
    assert not [s for s in news.series if s.model == QWEN]  # a different configuration: not compared


def test_an_added_column_is_a_key_change_and_the_comparison_goes_on() -> None:
    """An added column made a new configuration and the comparison silently disappeared."""
    current = newest(throughput_factor={GEMMA: 0.8})
    frame = current.frame.copy()
    frame["config"] = frame["config"] + ",flash_attn=1"
    news = news_of(with_frame(current, frame))
    changed = news.of_kind("configuration key changed")
    assert len(changed) == 3  # one line per model
    assert all(i.diff == ConfigDiff(added=(("flash_attn", "1"),)) and len(i.configs) == 2 for i in changed)
    assert not news.of_kind("configuration gone", "configuration new", "model gone")
    assert news.compared == 12
    regressions = news.of_kind("regression")
    assert {(i.model, i.config) for i in regressions} == {(GEMMA, CTX2K + ",flash_attn=1"),
                                                         (GEMMA, CTX8K + ",flash_attn=1")}


def test_a_changed_seed_is_not_a_new_configuration() -> None:
    """A changed seed made a new configuration, so the comparison silently disappeared."""
    def seeded(snapshot: Snapshot, seed: int) -> Snapshot:
        frame = snapshot.frame.copy()
        frame["config"] = frame["config"] + f",seed={seed}"
        return with_frame(snapshot, frame)

    earlier = [seeded(s, 40 + i) for i, s in enumerate(history())]
    news = build_news(seeded(newest(throughput_factor={QWEN: 0.7}), 1234), earlier)
    assert not news.of_kind("configuration gone", "configuration new", "configuration changed",
                            "configuration key changed")
    assert {(i.model, i.config, i.metric) for i in news.of_kind("regression")} == {
        (QWEN, CTX2K, "throughput_tok_s"), (QWEN, CTX8K, "throughput_tok_s")}


def test_repetitions_in_one_archive_are_one_run_of_their_configuration() -> None:
    current = newest()
    frame = current.frame.copy()
    frame["config"] = frame["config"] + ",rep=" + (frame["row"] % 3).astype(str)
    news = news_of(with_frame(current, frame))
    assert news.items == ()
    assert {s.verdict.n_current + s.verdict.n_dropped for s in news.series if s.metric == "throughput_tok_s"} \
        <= set(range(25, 31))  # ~30 requests (minus failures), not ~10 per repetition


def test_tok_per_min_is_converted_never_plus_5863_percent() -> None:
    current = newest()
    frame = current.frame.copy()
    tp = frame["metric"] == "throughput_tok_s"
    frame.loc[tp, "value"] = frame.loc[tp, "value"] * 60.0
    frame.loc[tp, "unit"] = "tok/min"
    news = news_of(with_frame(current, frame))
    units = news.of_kind("unit changed")
    assert {(i.units, i.converted, i.level) for i in units} == {(("tok/s", "tok/min"), True, "info")}
    assert len(units) == 6  # every throughput series
    assert not news.of_kind("regression", "improvement")
    throughput = [s for s in news.series if s.metric == "throughput_tok_s"]
    assert len(throughput) == 6 and all(abs(s.verdict.rel_change) < 0.05 for s in throughput)
    assert all(s.verdict.unit == "tok/min" for s in throughput)


def test_units_that_do_not_convert_are_refused_not_compared() -> None:
    current = newest()
    frame = current.frame.copy()
    frame.loc[frame["metric"] == "ttft_ms", "unit"] = "GB"
    news = news_of(with_frame(current, frame))
    units = news.of_kind("unit changed")
    assert len(units) == 6 and all(i.units == ("ms", "GB") and not i.converted and i.level == "warning"
                                   for i in units)
    assert not [s for s in news.series if s.metric == "ttft_ms"]
    assert not news.of_kind("regression", "improvement")


def test_a_changed_ttft_definition_is_refused() -> None:
    current = newest()
    frame = current.frame.copy()
    frame.loc[frame["metric"] == "ttft_ms", "definition"] = "load + prompt eval (server side)"
    news = news_of(with_frame(current, frame))
    assert len(news.of_kind("definition changed")) == 6
    assert not [s for s in news.series if s.metric == "ttft_ms"]


@pytest.mark.parametrize("n", [1, 2])
def test_too_few_requests_is_news_and_still_judged(n: int) -> None:
    """Runs of 1-4 requests were never compared: a -50 % drop there was 'insufficient data'."""
    current = newest(n_requests=n, failure_rate=0.0, throughput_factor={LLAMA: 0.5})
    news = news_of(current)
    few = news.of_kind("too few requests")
    assert {(i.model, i.config) for i in few} == {(m.name, c) for m in DEFAULT_MODELS for c in DEFAULT_CONFIGS}
    assert all(i.level == "warning" and i.requests.total == n for i in few)
    regressions = [i for i in news.of_kind("regression") if i.metric == "throughput_tok_s"]
    assert {i.model for i in regressions} == {LLAMA}
    assert all(i.series.verdict.low_confidence for i in regressions)
    assert news.worst.kind == "regression"


def test_a_metric_without_any_usable_value_is_too_few_requests() -> None:
    current = newest()
    frame = current.frame.copy()
    frame = frame[~((frame["model"] == GEMMA) & (frame["metric"] == "ttft_ms"))]
    news = news_of(with_frame(current, frame))
    few = news.of_kind("too few requests")
    assert [(i.model, i.note) for i in few] == [(GEMMA, "no usable value of TTFT")] * 2


def test_slow_creep_is_a_trend_alert() -> None:
    """-2.5 % per run, -24 % in all, was never flagged."""
    runs = [Snapshot(f"nightly/{i:02d}", synth_archive(8, archive=i, throughput_factor={
        GEMMA: 0.975 ** max(0, i - 5)})) for i in range(11)]
    first = None
    for i in range(6, 11):
        news = build_news(runs[i], runs[:i])
        if any(item.model == GEMMA and item.kind in ("slow creep", "regression") for item in news.items):
            first = i - 5
            break
    assert first is not None and first <= 4


def test_items_are_worst_first_and_the_worst_is_the_headline() -> None:
    current = newest(throughput_factor={LLAMA: 0.85})
    frame = failing(current.frame, QWEN, 1.0)
    frame = frame[~((frame["model"] == GEMMA) & (frame["config"] == CTX8K))]
    news = news_of(with_frame(current, frame))
    ranks = [LEVELS.index(i.level) for i in news.items]
    assert ranks == sorted(ranks)
    assert news.worst.kind == "every request failed"
    assert [k for k, _ in news.tally()][:2] == ["every request failed", "regression"]


def test_no_change_series_keep_their_verdicts_for_the_report() -> None:
    news = news_of(newest())
    assert all(s.verdict.status == NO_CHANGE for s in news.series)
    assert all(s.verdict.interval is not None for s in news.series)


# --------------------------------------------------------------------------- comparable keys


def test_comparable_config_drops_repetition_markers_only() -> None:
    assert comparable_config("num_ctx=2048,seed=42,temperature=0.2") == "num_ctx=2048,temperature=0.2"
    assert comparable_config("Run=3,iteration=2,num_gpu=999") == "num_gpu=999"
    assert comparable_config("num_ctx=2048") == "num_ctx=2048"
    assert comparable_config("") == ""
    assert comparable_config("config=a,b,seed=1") == "config=a,b"  # a bare part is kept


def test_match_configs_pairs_what_it_can_name() -> None:
    added = match_configs(["num_ctx=2048", "num_ctx=4096"], ["fa=1,num_ctx=2048", "fa=1,num_ctx=4096"])
    assert added.same_series == {"num_ctx=2048": "fa=1,num_ctx=2048", "num_ctx=4096": "fa=1,num_ctx=4096"}
    assert added.key_changes["fa=1,num_ctx=2048"].added == (("fa", "1"),)
    removed = match_configs(["backend=cuda,num_ctx=2048"], ["num_ctx=2048"])
    assert removed.key_changes["num_ctx=2048"].removed == (("backend", "cuda"),)
    value = match_configs(["num_ctx=2048,t=0.2"], ["num_ctx=4096,t=0.2"])
    assert value.value_changes == (("num_ctx=2048,t=0.2", "num_ctx=4096,t=0.2",
                                    ConfigDiff(changed=(("num_ctx", "2048", "4096"),))),)
    assert not value.gone and not value.new
    ambiguous = match_configs(["a=1"], ["a=2", "a=3"])
    assert ambiguous.gone == ("a=1",) and ambiguous.new == ("a=2", "a=3")
    back = match_configs(["a=1"], ["a=1", "a=2"], seen=["a=2"])
    assert back.new == ()  # measured before: compared with its own history, not "new"


def test_the_frame_columns_it_reads_are_the_measurement_columns() -> None:
    frame = synth_archive(1)
    assert tuple(frame.columns) == MEASUREMENT_COLUMNS
    news = build_news(Snapshot("b", frame[["model", "config", "metric", "value", "failed"]]),
                      [Snapshot("a", synth_archive(1, archive=1)[["model", "config", "metric", "value", "failed"]])])
    assert news.compared == 12  # unit, kind, definition, request_id and error are optional


def test_select_config_keeps_the_rows_of_one_configuration_without_the_selector() -> None:
    frame = synth_archive(1)
    two_k = select_config(frame, parse_selector("num_ctx=2048"))
    assert set(two_k["config"]) == {"num_gpu=999,temperature=0.2"}
    assert len(two_k) == len(frame) / 2
    assert set(select_config(frame, parse_selector("temperature=0.20,num_ctx=8192"))["config"]) == {"num_gpu=999"}
    assert len(select_config(frame, parse_selector("num_ctx=999"))) == 0
    assert tuple(frame.columns) == MEASUREMENT_COLUMNS and set(frame["config"]) == set(DEFAULT_CONFIGS)
    with pytest.raises(ValueError, match="is not key=value"):
        parse_selector("num_ctx")


def test_two_configurations_of_one_archive_pair_up_model_by_model() -> None:
    frame = synth_archive(1)
    news = build_news(Snapshot("b", select_config(frame, parse_selector(CTX8K.split(",")[0]))),
                      [Snapshot("a", select_config(frame, parse_selector(CTX2K.split(",")[0])))])
    assert news.compared == 6 and not news.of_kind("model gone", "model new", "configuration gone")


def test_a_series_that_always_has_one_or_two_requests_is_judged_without_a_line_each_time() -> None:
    earlier = history(n_requests=2, failure_rate=0.0)
    quiet = build_news(newest(n_requests=1, failure_rate=0.0), earlier)
    assert not quiet.of_kind("too few requests")  # its usual size: not news
    assert all(s.few_requests and not s.fewer_than_before for s in quiet.series)
    halved = build_news(newest(n_requests=1, failure_rate=0.0, throughput_factor={QWEN: 0.5}), earlier)
    assert {(i.kind, i.model) for i in halved.items if i.metric == "throughput_tok_s"} == {("regression", QWEN)}


def test_a_tool_aggregate_per_archive_is_judged_as_one_value_per_run() -> None:
    """llama-bench keeps its own mean per test: one value per archive, never 'too few requests'."""
    def aggregates(seed: int, archive: int, factor: float = 1.0) -> Snapshot:
        rng = np.random.default_rng([seed, archive])
        rows = [{"request_id": f"bench.json#{i}", "source": "bench.json", "row": i, "model": "llama-7b.Q4_0",
                 "config": f"n_gpu_layers=99,n_prompt={p}", "metric": "throughput_tok_s",
                 "value": base * factor * float(np.exp(rng.normal(0, 0.01))), "unit": "tok/s", "failed": False,
                 "error": "", "kind": "aggregate", "definition": ""} for i, (p, base) in enumerate([(512, 3500.0),
                                                                                                 (0, 120.0)])]
        return Snapshot(f"bench/{archive}", pd.DataFrame(rows, columns=list(MEASUREMENT_COLUMNS)))

    earlier = [aggregates(1, i) for i in range(6)]
    same = build_news(aggregates(1, 9), earlier)
    assert same.items == () and same.compared == 2 and all(s.aggregate for s in same.series)
    slower = build_news(aggregates(1, 9, factor=0.7), earlier)
    assert [i.kind for i in slower.items] == ["regression"] * 2
    assert all(i.level in ("major", "critical") and i.series.verdict.severity_max == "critical" for i in slower.items)
