"""The run-history regression detector (`bot.core.regression`) on the cases that broke the
Mann-Whitney + z-score detector it replaced (issue 14, "Why"), each as a regression test."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from bot.core.regression import (
    DEFAULT_CONFIG,
    IMPROVEMENT,
    INCOMPARABLE,
    INSUFFICIENT,
    NO_CHANGE,
    REGRESSION,
    SEVERITIES,
    Run,
    convert_unit,
    detect,
    detect_values,
    severity_for,
)


def noisy_runs(seed: int, levels: list[float], *, n: int = 20, sigma: float = 0.02, tau: float = 0.01,
               cold_first: bool = False) -> list[list[float]]:
    """One run per level: lognormal requests (spread ``sigma``) around the level times a run
    offset (spread ``tau``); ``cold_first``: every run's first request is a 3x cold start."""
    rng = np.random.default_rng(seed)
    out = []
    for level in levels:
        centre = level * math.exp(rng.normal(0, tau))
        values = centre * np.exp(rng.normal(0, sigma, n))
        if cold_first:
            values[0] /= 3.0
        out.append([float(v) for v in values])
    return out


def alert(v) -> bool:
    return v.is_alert


# --------------------------------------------------------------------------- the reported failures


def test_cold_start_in_a_five_request_run_does_not_hide_a_halving() -> None:
    history = noisy_runs(1, [40.0] * 6, n=5)
    newest = [12.0, 20.1, 19.8, 20.3, 19.9]  # throughput halved, and the first request is a cold start
    v = detect_values(history, newest, higher_is_better=True, unit="tok/s")
    assert v.status == REGRESSION
    assert -0.55 < v.rel_change < -0.45
    assert v.severity == "critical"
    assert v.n_dropped == 1 and v.n_current == 4
    lo, hi = v.interval
    assert lo < v.rel_change < hi < -0.40


def test_a_cold_start_alone_is_not_a_regression() -> None:
    history = noisy_runs(2, [40.0] * 6, n=5)
    newest = [12.0, 40.1, 39.8, 40.3, 39.9]
    v = detect_values(history, newest, higher_is_better=True)
    assert v.status == NO_CHANGE
    assert v.n_dropped == 1
    # and the same in a run of two requests: the slower one is the cold start
    v2 = detect_values(history, [12.0, 40.2], higher_is_better=True)
    assert v2.status == NO_CHANGE and v2.n_dropped == 1


def test_a_one_request_halving_is_flagged_with_a_wide_interval() -> None:
    history = noisy_runs(3, [40.0] * 6, n=20, sigma=0.05)
    one = detect_values(history, [20.0], higher_is_better=True)
    assert one.status == REGRESSION and one.is_alert
    assert one.low_confidence and "cold start" in one.reason
    lo, hi = one.interval
    assert lo < -0.5 < hi < -0.35
    many = detect_values(history, list(np.full(20, 20.0) * np.exp(np.random.default_rng(4).normal(0, 0.05, 20))),
                         higher_is_better=True)
    assert many.status == REGRESSION and not many.low_confidence
    width = lambda v: math.log1p(v.interval[1]) - math.log1p(v.interval[0])  # noqa: E731
    assert width(one) > 1.5 * width(many)  # one request carries the whole per-request spread
    # and it is never "insufficient data" just for being small
    assert detect_values(history, [39.5], higher_is_better=True).status == NO_CHANGE


@pytest.mark.parametrize("post_step_runs", [1, 2, 4])
def test_two_successive_20pct_steps_are_both_caught(post_step_runs: int) -> None:
    before = noisy_runs(5, [40.0] * 6)
    first = noisy_runs(6, [32.0])
    v1 = detect_values(before, first[0], higher_is_better=True)
    assert v1.status == REGRESSION and "major" in (v1.severity, v1.severity_max)

    after = noisy_runs(7, [32.0] * post_step_runs)
    second = noisy_runs(8, [25.6])[0]
    v2 = detect_values(before + after, second, higher_is_better=True)
    assert v2.status == REGRESSION
    assert -0.25 < v2.rel_change < -0.15  # judged against the post-step level, not the original one
    assert v2.resets == (len(before),)  # the first step was accepted as the new normal
    assert v2.baseline_runs == tuple(range(len(before), len(before) + post_step_runs))


def test_a_one_off_outlier_run_is_not_taken_as_the_new_normal() -> None:
    runs = noisy_runs(9, [40.0] * 5 + [28.0] + [40.0] * 3)  # run 5 was a bad night
    v = detect_values(runs, noisy_runs(10, [40.0])[0], higher_is_better=True)
    assert v.status == NO_CHANGE and 5 in v.skipped_runs and 5 not in v.baseline_runs
    # the bad night as the last run: the newest is back to normal -> no change, not "improvement"
    runs = noisy_runs(11, [40.0] * 6 + [28.0])
    v = detect_values(runs, noisy_runs(12, [40.0])[0], higher_is_better=True)
    assert v.status == NO_CHANGE and v.skipped_runs == (6,)


@pytest.mark.parametrize("seed", range(10))
def test_slow_creep_is_flagged_within_four_runs(seed: int) -> None:
    stable = [40.0] * 6
    creep = [40.0 * 0.975 ** c for c in range(1, 5)]  # -2.5 % per run
    runs = noisy_runs(100 + seed, stable + creep, n=20, sigma=0.02, tau=0.005)
    first = None
    for c in range(1, 5):
        v = detect_values(runs[: len(stable) + c - 1], runs[len(stable) + c - 1], higher_is_better=True)
        if v.is_alert:
            first = c
            break
    assert first is not None and first <= 4


def test_creep_gives_a_trend_alert_with_its_rate() -> None:
    runs = noisy_runs(13, [40.0] * 6 + [40.0 * 0.975 ** c for c in range(1, 5)], tau=0.003)
    # judged with the step test switched off: the trend alone must catch it
    v = detect_values(runs[:-1], runs[-1], higher_is_better=True, config=replace(DEFAULT_CONFIG, alpha=1e-12))
    assert v.status == NO_CHANGE
    assert v.trend is not None and v.trend.status == REGRESSION and v.is_alert
    assert -0.035 < v.trend.per_run < -0.01
    lo, hi = v.trend.per_run_interval
    assert lo < v.trend.per_run < hi


def test_a_true_15pct_drop_gets_a_consistent_severity() -> None:
    """At the minor/major boundary the point estimate flips 50/50; the interval-based tier does not."""
    tiers, point_tiers, upper = [], [], []
    for seed in range(120):
        runs = noisy_runs(1000 + seed, [40.0] * 6 + [34.0], n=20, sigma=0.03, tau=0.01)
        v = detect_values(runs[:-1], runs[-1], higher_is_better=True)
        assert v.status == REGRESSION
        tiers.append(v.severity)
        point_tiers.append(severity_for(v.rel_change))
        upper.append(v.severity_max)
    assert tiers.count("minor") >= 0.95 * len(tiers)  # "at least minor", every time
    assert upper.count("major") >= 0.8 * len(upper)  # "… possibly major": the range straddles 15 %
    assert 0.2 < point_tiers.count("major") / len(point_tiers) < 0.8  # what today's grading does


def test_severity_is_taken_from_the_interval_bound_nearest_zero() -> None:
    runs = noisy_runs(14, [40.0] * 8 + [20.0], n=30, sigma=0.01, tau=0.003)
    v = detect_values(runs[:-1], runs[-1], higher_is_better=True)
    near = max(v.interval)  # the bound nearest zero of a drop
    assert v.severity == severity_for(near) == "critical"
    assert SEVERITIES.index(v.severity_max) >= SEVERITIES.index(v.severity)


def test_a_noisy_series_without_change_is_not_flagged() -> None:
    flagged = 0
    for seed in range(400):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(3, 40))
        runs = noisy_runs(seed, [40.0] * 9, n=n, sigma=float(rng.uniform(0.01, 0.05)),
                          tau=float(rng.uniform(0.005, 0.02)), cold_first=bool(seed % 3 == 0))
        v = detect_values(runs[:-1], runs[-1], higher_is_better=bool(seed % 2))
        flagged += v.status == REGRESSION or v.is_alert
    assert flagged <= 4  # <= 1 %, for a 0.5 % design rate


def test_a_variance_only_change_is_not_a_regression_of_the_median() -> None:
    for seed in range(20):
        history = noisy_runs(seed, [40.0] * 6, n=30, sigma=0.02)
        newest = noisy_runs(500 + seed, [40.0], n=30, sigma=0.06, tau=0.0)[0]
        v = detect_values(history, newest, higher_is_better=True)
        assert v.status != REGRESSION


def test_latency_direction() -> None:
    history = noisy_runs(15, [200.0] * 6)
    slower = detect_values(history, noisy_runs(16, [260.0])[0], higher_is_better=False)
    faster = detect_values(history, noisy_runs(17, [150.0])[0], higher_is_better=False)
    assert slower.status == REGRESSION and slower.rel_change > 0.2
    assert faster.status == IMPROVEMENT and faster.rel_change < -0.2


# --------------------------------------------------------------------------- units and inputs


def test_tok_per_min_is_converted_never_plus_5863_percent() -> None:
    history = [Run(tuple(v * 60 for v in r), unit="tok/min") for r in noisy_runs(18, [40.0] * 5)]
    newest = Run(tuple(noisy_runs(19, [40.0])[0]), unit="tok/s")
    v = detect([*history, newest], higher_is_better=True)
    assert v.status == NO_CHANGE and abs(v.rel_change) < 0.05 and v.unit == "tok/s"
    assert convert_unit(120.0, "tok/min", "tok/s") == pytest.approx(2.0)
    assert convert_unit(1.5, "s", "ms") == pytest.approx(1500.0)
    assert convert_unit(3.0, "tokens per second", "tok/s") == pytest.approx(3.0)


def test_units_that_cannot_be_converted_are_refused() -> None:
    history = [Run(tuple(r), unit="tok/s") for r in noisy_runs(20, [40.0] * 5)]
    for bad in ("ms", "GB", "req/s"):
        v = detect([*history, Run((2400.0,) * 5, unit=bad)], higher_is_better=True)
        assert v.status == INCOMPARABLE and v.rel_change is None and "cannot compare" in v.reason
    v = detect([*history, Run((2400.0,) * 5)], higher_is_better=True)  # unit missing on one run
    assert v.status == INCOMPARABLE and v.rel_change is None


def test_insufficient_only_when_nothing_can_be_said() -> None:
    assert detect([Run((40.0, 41.0))], higher_is_better=True).status == INSUFFICIENT  # no history
    assert detect([], higher_is_better=True).status == INSUFFICIENT
    history = [Run(tuple(r)) for r in noisy_runs(21, [40.0] * 3)]
    assert detect([*history, Run(())], higher_is_better=True).status == INSUFFICIENT
    assert detect([*history, Run((float("nan"), 0.0))], higher_is_better=True).status == INSUFFICIENT
    # one earlier run is enough to say something (with low confidence)
    v = detect([*history[:1], Run(tuple(noisy_runs(22, [20.0])[0]))], higher_is_better=True)
    assert v.status == REGRESSION and v.low_confidence


def test_tool_aggregates_with_their_n() -> None:
    history = [Run.from_aggregate(40.0 * f, 5, unit="tok/s", spread=0.8) for f in (1.0, 1.01, 0.99, 1.005)]
    v = detect([*history, Run.from_aggregate(32.0, 5, unit="tok/s", spread=0.8)], higher_is_better=True)
    assert v.status == REGRESSION and -0.22 < v.rel_change < -0.18
    v = detect([*history, Run.from_aggregate(40.2, 5, unit="tok/s")], higher_is_better=True)
    assert v.status == NO_CHANGE


def test_describe_and_purity() -> None:
    runs = [Run(tuple(r), unit="tok/s") for r in noisy_runs(23, [40.0] * 6 + [34.0])]
    before = [r.values for r in runs]
    v = detect(runs, higher_is_better=True)
    assert [r.values for r in runs] == before
    assert detect(runs, higher_is_better=True) == v  # deterministic
    text = v.describe()
    assert text.startswith("regression −1") and "…" in text and "%" in text


def test_explicit_reset_ignores_earlier_runs() -> None:
    runs = [Run(tuple(r)) for r in noisy_runs(24, [40.0] * 5 + [20.0] * 3 + [20.0])]
    v = detect(runs, higher_is_better=True, reset_at=5)
    assert v.status == NO_CHANGE and min(v.baseline_runs) >= 5


# --------------------------------------------------------------------------- more of issue 14's "Why"


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_runs_of_one_to_four_requests_are_judged_never_insufficient(n: int) -> None:
    """Runs of 1-4 requests were never compared: a halving there was "insufficient data"."""
    history = noisy_runs(30 + n, [40.0] * 6, n=n, sigma=0.03)
    newest = noisy_runs(40 + n, [20.0], n=n, sigma=0.03)[0]
    v = detect_values(history, newest, higher_is_better=True, unit="tok/s")
    assert v.status == REGRESSION and v.severity == "critical"
    assert v.low_confidence == (n <= 2)  # judged all the same; 1-2 requests carry a note
    if n == 2:
        assert "two requests" in v.reason and "rerun" in v.reason
    same = detect_values(history, noisy_runs(50 + n, [40.0], n=n, sigma=0.03)[0], higher_is_better=True)
    assert same.status == NO_CHANGE


def test_a_history_of_spread_no_longer_vetoes_a_real_8pct_step() -> None:
    """The history z-score vetoed real catches; the interval test uses the history instead."""
    caught = 0
    for seed in range(20):
        runs = noisy_runs(300 + seed, [40.0] * 8 + [40.0 * 0.92], n=30, sigma=0.02, tau=0.01)
        v = detect_values(runs[:-1], runs[-1], higher_is_better=True)
        caught += v.status == REGRESSION and v.severity == "minor"
    assert caught == 20


def test_the_interval_is_in_the_metric_s_own_direction_and_described() -> None:
    runs = noisy_runs(31, [200.0] * 8 + [230.0], n=30, sigma=0.02, tau=0.005)
    v = detect_values(runs[:-1], runs[-1], higher_is_better=False)  # latency up 15 %
    assert v.status == REGRESSION and v.rel_change > 0
    lo, hi = v.interval
    assert 0 < lo < v.rel_change < hi
    assert v.describe().startswith("regression +1") and "…+" in v.describe()


def test_the_issue_s_five_request_example_is_a_critical_regression() -> None:
    """Mann-Whitney gave p=0.15 for [12, 40.1, 39.8, 40.3, 39.9] vs a halved run: no alert."""
    baseline = [12.0, 40.1, 39.8, 40.3, 39.9]  # one cold start among five requests
    v = detect_values([baseline], [20.0, 20.1, 19.9, 20.2, 19.8], higher_is_better=True)
    assert v.status == REGRESSION and v.severity == "critical" and -0.52 < v.rel_change < -0.48
    assert v.low_confidence and "only one earlier run" in v.reason  # one run: its noise is assumed


def test_a_5pct_step_on_a_quiet_series_is_caught_not_vetoed() -> None:
    """The history z-score vetoed 34 of 90 catches at -5 %; on a quiet series the history now helps."""
    caught = 0
    for seed in range(50):
        runs = noisy_runs(700 + seed, [40.0] * 8 + [40.0 * 0.95], n=30, sigma=0.02, tau=0.005)
        caught += detect_values(runs[:-1], runs[-1], higher_is_better=True).status == REGRESSION
    assert caught >= 40
