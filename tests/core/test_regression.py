"""Noise-aware comparison of two archives on seeded synthetic measurements (tests/synth.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.core.regression_mw import (
    ALPHA,
    IMPROVEMENT,
    METHOD_DEFINITIONS,
    METHOD_INSUFFICIENT,
    METHOD_MW,
    METHOD_MW_Z,
    METRIC_RULES,
    NO_CHANGE,
    REGRESSION,
    Change,
    compare,
    digest_medians,
    history_from_archives,
    severity_for,
    summarize,
)
from bot.core.types import MEASUREMENT_COLUMNS
from tests.synth import DEFAULT_CONFIGS, DEFAULT_MODELS, synth_archive, synth_history

LLAMA = "llama3.1:8b"
GEMMA = "gemma3:4b"
QWEN = "qwen2.5:14b"
KEYS_PER_ARCHIVE = len(DEFAULT_MODELS) * len(DEFAULT_CONFIGS) * len(METRIC_RULES)


def _pair(seed: int, **current_kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current, baseline): two independent runs; ``current_kwargs`` inject changes."""
    return synth_archive(seed, archive=1, **current_kwargs), synth_archive(seed, archive=0)  # type: ignore[arg-type]


def _alerts(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.is_alert]


# --------------------------------------------------------------------------- the synthetic data


def test_synth_is_seeded_tidy_and_realistic() -> None:
    a = synth_archive(7)
    assert tuple(a.columns) == MEASUREMENT_COLUMNS
    pd.testing.assert_frame_equal(a, synth_archive(7))
    assert not a.equals(synth_archive(7, archive=1))
    ok = a[~a["failed"]]
    assert set(a.loc[a["failed"], "value"]) <= {0.0}
    tp = ok[(ok["model"] == GEMMA) & (ok["metric"] == "throughput_tok_s")]["value"]
    assert 0.01 < tp.std() / tp.mean() < 0.06  # 2-4 % request noise (plus config/run offsets)
    ttft = ok[(ok["model"] == GEMMA) & (ok["metric"] == "ttft_ms")]["value"]
    assert ttft.max() > 5 * ttft.median()  # cold starts are in there


# --------------------------------------------------------------------------- the must-shows


@pytest.mark.parametrize("seed", range(10))
def test_injected_20pct_throughput_regression_is_found_as_major_and_nothing_else(seed: int) -> None:
    current, baseline = _pair(seed, throughput_factor={LLAMA: 0.80})
    changes = compare(current, baseline)

    assert len(changes) == KEYS_PER_ARCHIVE
    alerts = _alerts(changes)
    assert [(c.model, c.metric, c.direction, c.severity) for c in alerts] == [
        (LLAMA, "throughput_tok_s", REGRESSION, "major")
    ] * len(DEFAULT_CONFIGS)
    assert changes[: len(alerts)] == alerts  # worst first
    for c in alerts:
        assert -0.25 < c.rel_change < -0.15
        assert c.p_value is not None and c.p_value < 1e-6
        assert c.method == METHOD_MW and c.n_baseline >= 25 and c.n_current >= 25
        assert c.current_median < c.baseline_median
    others = [c for c in changes if c not in alerts]
    assert all(c.direction == NO_CHANGE and c.severity == "none" for c in others)

    text = summarize(changes)
    assert text.startswith("2 regressions, 0 improvements")
    assert "MAJOR regression: llama3.1:8b" in text and "throughput" in text
    assert "No significant change" not in text


def test_no_change_with_realistic_noise_does_not_alert_across_50_seeds() -> None:
    false_alert_seeds = []
    for seed in range(50):
        changes = compare(*_pair(seed))
        assert all(c.method == METHOD_MW for c in changes)
        if _alerts(changes):
            false_alert_seeds.append(seed)
        else:
            assert summarize(changes).startswith("No significant change (12 comparisons")
    assert len(false_alert_seeds) <= 1, false_alert_seeds


def test_realistic_noise_is_really_noise() -> None:
    """Guard for the test above: the no-change pairs do differ. Runs of one build differ a little
    systematically, so Mann-Whitney alone calls some keys "significant"; the effect floor holds."""
    changes = [c for seed in range(20) for c in compare(*_pair(seed))]
    rel = np.array([abs(c.rel_change) for c in changes if c.metric == "throughput_tok_s"])
    assert rel.max() > 0.02  # medians wander by percent, not by nothing
    assert sum(c.p_value is not None and c.p_value < ALPHA for c in changes) >= 5


def test_ttft_increase_is_a_regression_and_decrease_an_improvement() -> None:
    current, baseline = _pair(3, ttft_factor={QWEN: 1.5, GEMMA: 0.6})
    changes = compare(current, baseline)
    by = {(c.model, c.metric, c.config): c for c in changes}
    for config in DEFAULT_CONFIGS:
        slower = by[(QWEN, "ttft_ms", config)]
        assert (slower.direction, slower.severity) == (REGRESSION, "major")
        assert slower.rel_change > 0.3
        faster = by[(GEMMA, "ttft_ms", config)]
        assert (faster.direction, faster.severity) == (IMPROVEMENT, "major")
        assert faster.rel_change < -0.3
        assert by[(QWEN, "throughput_tok_s", config)].direction == NO_CHANGE
    assert [c.direction for c in changes[:4]] == [REGRESSION, REGRESSION, IMPROVEMENT, IMPROVEMENT]
    assert "TTFT" in summarize(changes)


def test_throughput_increase_is_an_improvement() -> None:
    changes = compare(*_pair(4, throughput_factor={QWEN: 1.4}))
    alerts = _alerts(changes)
    assert {(c.model, c.direction, c.severity) for c in alerts} == {(QWEN, IMPROVEMENT, "critical")}


def test_failed_rows_are_ignored_even_when_they_hold_numbers() -> None:
    baseline = synth_archive(5, archive=0)
    current = synth_archive(5, archive=1, failure_rate=0.4)
    # A failed request stored as a zero (or garbage) must never pull a median.
    current.loc[current["failed"] & (current["metric"] == "ttft_ms"), "value"] = 1e9
    changes = compare(current, baseline)
    assert not _alerts(changes)
    usable = current[~current["failed"]]
    for c in changes:
        expected = usable[(usable["model"] == c.model) & (usable["config"] == c.config)
                          & (usable["metric"] == c.metric)]
        assert c.n_current == len(expected)
        assert c.current_median == pytest.approx(float(expected["value"].median()))


def test_a_model_whose_requests_all_failed_is_insufficient_data_not_a_regression() -> None:
    current, baseline = _pair(6)
    current.loc[current["model"] == LLAMA, "failed"] = True
    changes = compare(current, baseline)
    llama = [c for c in changes if c.model == LLAMA]
    assert llama and all(c.method == METHOD_INSUFFICIENT and not c.is_alert for c in llama)
    assert all(c.n_current == 0 and c.current_median is None and c.rel_change is None for c in llama)
    assert llama == changes[-len(llama):]  # sorted after the real comparisons


def test_tiny_samples_are_insufficient_data_even_with_a_huge_change() -> None:
    current = synth_archive(8, archive=1, n_requests=4, failure_rate=0.0, throughput_factor={LLAMA: 0.5})
    baseline = synth_archive(8, archive=0, n_requests=4, failure_rate=0.0)
    changes = compare(current, baseline)
    assert changes and all(c.method == METHOD_INSUFFICIENT for c in changes)
    assert all(c.direction == NO_CHANGE and c.severity == "none" and c.p_value is None for c in changes)
    assert summarize(changes).startswith("Not enough data to compare")


def test_five_samples_per_side_is_enough() -> None:
    current = synth_archive(9, archive=1, n_requests=5, failure_rate=0.0, throughput_factor={LLAMA: 0.5})
    baseline = synth_archive(9, archive=0, n_requests=5, failure_rate=0.0)
    alerts = _alerts(compare(current, baseline))
    assert {(c.model, c.metric, c.severity) for c in alerts} == {(LLAMA, "throughput_tok_s", "critical")}
    assert all(c.n_current == 5 and c.n_baseline == 5 for c in alerts)


def test_models_on_one_side_only_are_listed_as_insufficient() -> None:
    baseline = synth_archive(10, archive=0, models=DEFAULT_MODELS[:2])
    current = synth_archive(10, archive=1, models=DEFAULT_MODELS[1:])
    changes = compare(current, baseline)
    gone = [c for c in changes if c.model == GEMMA]
    new = [c for c in changes if c.model == QWEN]
    assert gone and all(c.method == METHOD_INSUFFICIENT and c.current_median is None for c in gone)
    assert new and all(c.method == METHOD_INSUFFICIENT and c.baseline_median is None for c in new)
    assert summarize(changes).startswith("No significant change (4 comparisons within noise; 8 without")


def test_aggregate_rows_and_other_metrics_are_not_samples() -> None:
    current, baseline = _pair(11)
    fake = current.iloc[:1].copy()
    extra = pd.concat(
        [fake.assign(kind="aggregate", value=1.0, request_id=f"agg#{i}") for i in range(50)]
        + [fake.assign(metric="latency_ms", value=1.0)],
        ignore_index=True,
    )
    with_extra = pd.concat([current, extra], ignore_index=True)
    assert compare(with_extra, baseline) == compare(current, baseline)


def test_different_ttft_definitions_are_not_compared() -> None:
    current, baseline = _pair(12, ttft_factor={GEMMA: 3.0})
    current.loc[current["metric"] == "ttft_ms", "definition"] = "time to first token reported by the server"
    ttft = [c for c in compare(current, baseline) if c.metric == "ttft_ms"]
    assert ttft and all(c.method == METHOD_DEFINITIONS and not c.is_alert for c in ttft)


def test_inputs_are_never_mutated() -> None:
    current, baseline = _pair(13, throughput_factor={LLAMA: 0.8})
    history = history_from_archives(synth_history(13, digests=4))
    copies = (current.copy(deep=True), baseline.copy(deep=True), history.copy(deep=True))
    compare(current, baseline, history=history)
    digest_medians(current)
    for before, after in zip(copies, (current, baseline, history), strict=True):
        pd.testing.assert_frame_equal(before, after)


def test_missing_columns_are_a_programming_error() -> None:
    current, baseline = _pair(14)
    with pytest.raises(ValueError, match="failed"):
        compare(current.drop(columns=["failed"]), baseline)


# --------------------------------------------------------------------------- history (robust z)


def test_history_keeps_an_outlier_baseline_from_raising_a_false_alert() -> None:
    # The baseline happened to be an unusually fast run; today is an ordinary run.
    current = synth_archive(20, archive=1)
    baseline = synth_archive(20, archive=0, throughput_factor={GEMMA: 1.09})
    history = history_from_archives(synth_history(20, digests=6))

    without = _alerts(compare(current, baseline))
    assert {(c.model, c.direction) for c in without} == {(GEMMA, REGRESSION)}  # MW alone is fooled

    changes = compare(current, baseline, history=history)
    assert not _alerts(changes)
    gemma = [c for c in changes if c.model == GEMMA and c.metric == "throughput_tok_s"]
    assert all(c.method == METHOD_MW_Z and c.z_score is not None and abs(c.z_score) < 3.5 for c in gemma)
    assert summarize(changes).startswith("No significant change")


def test_history_still_flags_a_real_regression() -> None:
    current = synth_archive(21, archive=1, throughput_factor={LLAMA: 0.8})
    baseline = synth_archive(21, archive=0)
    history = history_from_archives(synth_history(21, digests=5))
    alerts = _alerts(compare(current, baseline, history=history))
    assert [(c.model, c.severity, c.method) for c in alerts] == [(LLAMA, "major", METHOD_MW_Z)] * 2
    assert all(c.z_score is not None and c.z_score < -3.5 for c in alerts)


def test_a_noisy_history_makes_a_moderate_change_ordinary() -> None:
    # This machine's digests swing by several percent from run to run.
    swings = [1.0, 0.92, 1.07, 0.95, 1.09, 0.97, 1.04]
    history = history_from_archives(
        [synth_archive(22, archive=100 + i, throughput_factor={GEMMA: f}) for i, f in enumerate(swings)]
    )
    current = synth_archive(22, archive=1, throughput_factor={GEMMA: 0.93})
    baseline = synth_archive(22, archive=0)
    assert {c.model for c in _alerts(compare(current, baseline))} == {GEMMA}
    assert not _alerts(compare(current, baseline, history=history))


def test_short_or_thin_history_is_not_used() -> None:
    current, baseline = _pair(23)
    two = history_from_archives(synth_history(23, digests=2))
    thin = history_from_archives(synth_history(23, digests=5, n_requests=3, failure_rate=0.0))
    for history in (two, thin, pd.DataFrame(columns=["digest", "model", "config", "metric", "median", "n"])):
        assert {c.method for c in compare(current, baseline, history=history)} == {METHOD_MW}


def test_digest_medians_round_trip_into_history() -> None:
    archives = synth_history(24, digests=3)
    medians = digest_medians(archives[0])
    assert list(medians.columns) == ["model", "config", "metric", "median", "n"]
    assert len(medians) == KEYS_PER_ARCHIVE and (medians["n"] >= 25).all()
    history = history_from_archives(archives)
    assert len(history) == 3 * KEYS_PER_ARCHIVE and set(history["digest"]) == {"0", "1", "2"}


# --------------------------------------------------------------------------- severity, summary


@pytest.mark.parametrize(
    ("rel", "metric", "severity"),
    [
        (-0.049, "throughput_tok_s", "none"),
        (-0.05, "throughput_tok_s", "minor"),
        (0.149, "throughput_tok_s", "minor"),
        (-0.15, "throughput_tok_s", "major"),
        (-0.30, "throughput_tok_s", "critical"),
        (0.12, "ttft_ms", "none"),
        (0.15, "ttft_ms", "minor"),
        (0.45, "ttft_ms", "major"),
        (1.0, "ttft_ms", "critical"),
    ],
)
def test_severity_thresholds(rel: float, metric: str, severity: str) -> None:
    assert severity_for(rel, metric) == severity


def test_summary_lists_worst_first_and_truncates() -> None:
    current = synth_archive(30, archive=1, throughput_factor={LLAMA: 0.6, QWEN: 0.9, GEMMA: 1.2})
    changes = compare(current, synth_archive(30, archive=0))
    text = summarize(changes, max_items=3)
    lines = text.splitlines()
    assert lines[0] == "4 regressions, 2 improvements (12 comparisons)."
    assert lines[1].startswith("• CRITICAL regression: llama3.1:8b")
    assert lines[3].startswith("• MINOR regression: qwen2.5:14b")
    assert lines[-1] == "… and 3 more."
    assert summarize([]).startswith("Nothing to compare")
