"""Run-history regression detection for ONE (model, configuration, metric) series (pure).

Stdlib, numpy and scipy only (no I/O, no pandas), deterministic, never mutates its input. Which
series exist and what else is news (failures, models gone, units…) is `bot.core.news`; this module
judges one series. Measured on synthetic series against the reference methods in
``bench/bench_detector.py`` (README, "Digests").

`detect(runs, higher_is_better=...)` judges the newest run (``runs[-1]``) against the earlier ones
(oldest first) and returns a `Verdict`: regression / improvement / no change / insufficient /
incomparable, the relative change with an uncertainty interval ("−15% (−11…−19%)"), a severity tier
read off that interval, and a separate `Trend` (slow creep over the last runs).

Model, on the log scale and oriented so that "up" is "better" (log throughput, −log latency):

    log value of request j in run i  =  level  +  run offset b_i  +  request noise e_ij
        b_i ~ N(0, tau^2)   run to run (machine temperature, neighbours, driver state)
        e_ij ~ (0, sigma^2) within a run, plus occasional one-sided cold starts

1. Per run: cut cold starts (requests worse than the run's median — of two requests: than the better
   one — by more than max(6 sigma, 15 %); at most a third of the run, or one of two). Centre = median
   (n <= 4) or 20 % trimmed mean (n >= 5) of the rest; its variance c(n) sigma_i^2 / n, with sigma_i
   the run's own sd shrunk towards the sd pooled over the earlier runs (or its own alone when it is
   clearly larger: F test). n = 1, 2, 3 … degrade smoothly: no minimum n, no cliff.
2. Baseline: the earlier runs since the last accepted step change, at most `history_window`. The
   history is replayed oldest → newest with the same test (at the strict `reset_alpha`): a run that
   differs starts a new level, which the next run confirms (it sits at the new level, or moves further
   the same way) or refutes (then that run was a one-off outlier and is skipped).
3. V = run-to-run + request variance of one run centre: the spread of the baseline centres, pooled
   with a prior (tau0^2 + the runs' request variance, worth nu0 pseudo-runs where tau0 dominates and
   only as much as the request spread is known where request noise dominates: Satterthwaite).
4. delta = centre(newest) − mean(baseline centres); Var = (V − vbar) + v_newest + V/k
   (run-to-run part, newest run's request noise, baseline mean); Student t, Satterthwaite df.
5. Regression / improvement when the two-sided p < `alpha` AND |point estimate| >= `min_change`.
6. Interval: `interval_level` (90 %) t-interval, mapped back to a relative change. Severity = the tier
   of the bound nearest zero ("95 % sure it is at least this bad"; an alert is at least "minor");
   `severity_max` = the tier of the far bound.
7. Trend: least-squares slope over the last `trend_window` runs of the level (newest included), its
   noise from successive differences (a trend hardly inflates them) pooled with the same prior;
   alert when one-sided p < `trend_alpha` and the fitted change over the window >= `min_change`.

Units: each run may carry a unit string; known units (tok/s, tok/min, ms, s, …) are converted to the
newest run's unit (`bot.core.units`); anything else must match exactly, else "incomparable" (never
"+5863 %").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats as _stats

from bot.core.units import UnitMismatch, convert_unit, unit_factor

__all__ = [
    "DEFAULT_CONFIG",
    "IMPROVEMENT",
    "INCOMPARABLE",
    "INSUFFICIENT",
    "LOW_CONFIDENCE_REQUESTS",
    "NO_CHANGE",
    "REGRESSION",
    "SEVERITIES",
    "DetectorConfig",
    "Run",
    "Trend",
    "UnitMismatch",
    "Verdict",
    "convert_unit",
    "detect",
    "detect_values",
    "severity_for",
]

Status = Literal["regression", "improvement", "no change", "insufficient", "incomparable"]
Severity = Literal["none", "minor", "major", "critical"]
REGRESSION: Status = "regression"
IMPROVEMENT: Status = "improvement"
NO_CHANGE: Status = "no change"
INSUFFICIENT: Status = "insufficient"  # nothing to say: no usable value in the newest run, or no earlier run
INCOMPARABLE: Status = "incomparable"  # units that do not convert into each other
SEVERITIES: tuple[Severity, ...] = ("none", "minor", "major", "critical")
# A newest run of this many requests or fewer is judged (fewer requests only widen the interval)
# but flagged low confidence: one slow request is all it takes to look like a step.
LOW_CONFIDENCE_REQUESTS = 2


# --------------------------------------------------------------------------- inputs and settings


@dataclass(frozen=True)
class Run:
    """One benchmark run of the series: its per-request values, or a tool's aggregate with its n.

    ``values``: per-request values (failed requests already removed; non-finite or <= 0 values are
    ignored). ``aggregate``/``n``/``spread``: a tool's own mean (or median) over ``n`` requests and,
    when known, the standard deviation of the requests, all in ``unit``. ``label``: archive name.
    """

    values: tuple[float, ...] = ()
    unit: str | None = None
    aggregate: float | None = None
    n: int | None = None
    spread: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    @classmethod
    def from_aggregate(cls, value: float, n: int, *, unit: str | None = None,
                       spread: float | None = None, label: str = "") -> Run:
        return cls((), unit, float(value), int(n), None if spread is None else float(spread), label)


@dataclass(frozen=True)
class DetectorConfig:
    """All knobs. Fractions are relative changes (0.03 = 3 %); spreads are log-scale sds (~ relative).

    ``alpha`` and the run-to-run prior were chosen on the research prototype's benchmark (seed 1,
    40,000 no-change series including runs of 1–2 requests: 0.45 % false alarms) and left alone:
    on ``bench/bench_detector.py``'s main table (issue 14's noise model, 3–50 requests per run)
    they give 0.19–0.23 % false alarms and 38–40 % recall at −5 % on seeds 1, 2 and 3.
    ``run_sd_prior`` is domain knowledge (run medians of one build on one machine typically differ
    by 0.5–2 %); set it per metric when a metric is known to be noisier (e.g. TTFT) or quieter."""

    min_change: float = 0.03  # smallest change worth a message (practical significance)
    tiers: tuple[float, float, float] = (0.03, 0.15, 0.30)  # |change| for minor, major, critical
    alpha: float = 0.02  # two-sided p-value threshold of the level test
    interval_level: float = 0.90  # the reported interval; severity uses its bound nearest zero
    history_window: int = 10  # baseline runs used at most (the most recent of the current level)
    run_sd_prior: float = 0.02  # tau0: run-to-run spread of run centres assumed a priori (2 %)
    run_sd_prior_df: float = 8.0  # nu0: how many runs' worth of evidence that prior is worth
    run_sd_floor: float = 0.002  # never assume runs more alike than this
    request_sd_prior: float = 0.03  # sigma0: per-request spread assumed when nothing is known
    request_sd_prior_df: float = 1.0  # … worth one df
    pool_df_cap: float = 8.0  # weight of the pooled request spread against a run's own spread
    cold_start_sigmas: float = 6.0  # a request this many sigmas worse than its run is a cold start
    cold_start_min: float = 0.15  # … and at least this much worse (log), whatever sigma is
    trend_window: int = 10
    trend_min_runs: int = 4
    trend_alpha: float = 0.002  # one-sided, per direction
    reset_alpha: float = 0.001  # two-sided; a step in the history is accepted only at this level
    max_df: float = 60.0


DEFAULT_CONFIG = DetectorConfig()


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Trend:
    """Least-squares slope of the run centres over the last ``runs`` runs (newest included)."""

    status: Status  # REGRESSION (worsening creep) | IMPROVEMENT | NO_CHANGE
    per_run: float  # relative change per run, in the metric's own direction (-0.025 = -2.5 %/run)
    per_run_interval: tuple[float, float]  # `interval_level` interval of per_run
    total: float  # fitted relative change from the first to the last run of the window
    runs: int
    t_stat: float

    @property
    def is_alert(self) -> bool:
        return self.status == REGRESSION

    def describe(self) -> str:
        lo, hi = _near_far(self.per_run_interval, self.per_run)
        return (f"{_pct(self.per_run)}/run ({_range(lo, hi)}) over {self.runs} runs, "
                f"{_pct(self.total)} in total")


@dataclass(frozen=True)
class Verdict:
    """The judgement of the newest run. Relative changes are (newest − baseline) / baseline in the
    metric's own unit and direction (a throughput drop and a latency rise are both regressions)."""

    status: Status  # REGRESSION | IMPROVEMENT | NO_CHANGE | INSUFFICIENT | INCOMPARABLE
    rel_change: float | None = None
    interval: tuple[float, float] | None = None  # (low, high) of rel_change, `interval_level`
    severity: Severity = "none"  # tier of the interval bound nearest zero (alerts: at least "minor")
    severity_max: Severity = "none"  # tier of the far bound: the worst the data allow
    baseline: float | None = None  # baseline level (geometric mean of the baseline runs' centres)
    current: float | None = None  # newest run's centre (median / trimmed mean, cold starts removed)
    unit: str | None = None
    t_stat: float | None = None
    n_current: int = 0  # requests of the newest run used (after removing cold starts)
    n_dropped: int = 0  # cold-start requests removed from the newest run
    baseline_runs: tuple[int, ...] = ()  # indices into ``runs`` of the runs the newest was judged against
    resets: tuple[int, ...] = ()  # indices of runs that started a new level (accepted steps)
    skipped_runs: tuple[int, ...] = ()  # one-off outlier runs left out of the baseline
    low_confidence: bool = False  # 1-2 requests, or 1 baseline run: rerun before acting on it
    earlier_cold_starts: int = 0  # cold-start requests left out of the earlier runs (see `reason`)
    trend: Trend | None = None
    reason: str = ""

    @property
    def is_alert(self) -> bool:
        """A regression of the level, or a worsening trend."""
        return self.status == REGRESSION or (self.trend is not None and self.trend.is_alert)

    def describe(self) -> str:
        """``regression −15% (−11…−19%), minor–major`` and the like (one line, plain text)."""
        if self.rel_change is None or self.interval is None:
            return f"{self.status}: {self.reason}" if self.reason else self.status
        near, far = _near_far(self.interval, self.rel_change)
        text = f"{self.status} {_pct(self.rel_change)} ({_range(near, far)})"
        if self.severity != "none":
            text += f", {self.severity}" + (f"–{self.severity_max}" if self.severity_max != self.severity else "")
        if self.low_confidence:
            text += ", low confidence"
        if self.trend is not None and self.trend.status != NO_CHANGE:
            text += f"; trend {self.trend.describe()}"
        return text


# --------------------------------------------------------------------------- public functions


def severity_for(size: float, config: DetectorConfig = DEFAULT_CONFIG) -> Severity:
    """Tier of a relative change of magnitude ``size`` (sign ignored)."""
    minor, major, critical = config.tiers
    size = abs(size)
    if size >= critical:
        return "critical"
    if size >= major:
        return "major"
    if size >= minor:
        return "minor"
    return "none"


def detect_values(history: Sequence[Sequence[float]], newest: Sequence[float], *,
                  higher_is_better: bool, unit: str | None = None,
                  config: DetectorConfig = DEFAULT_CONFIG) -> Verdict:
    """`detect` for plain lists of per-request values, all in one ``unit``."""
    runs = [Run(tuple(v), unit) for v in history] + [Run(tuple(newest), unit)]
    return detect(runs, higher_is_better=higher_is_better, config=config)


def detect(runs: Sequence[Run], *, higher_is_better: bool, config: DetectorConfig = DEFAULT_CONFIG,
           reset_at: int | None = None) -> Verdict:
    """Judge ``runs[-1]`` against the earlier runs (oldest first).

    ``reset_at``: index of a run a human accepted as a new normal (e.g. a known model change); runs
    before it are ignored. Without it, step changes found in the history are accepted automatically.
    """
    if not runs:
        return Verdict(INSUFFICIENT, reason="no runs")
    try:
        unit, scaled = _common_unit(runs)
    except UnitMismatch as err:
        return Verdict(INCOMPARABLE, unit=runs[-1].unit, reason=str(err))
    start = 0 if reset_at is None else max(0, min(int(reset_at), len(runs) - 1))
    sign = 1.0 if higher_is_better else -1.0
    raw = [_raw_run(i, scaled[i], sign) for i in range(start, len(runs))]
    newest = raw[-1]
    if newest.kind == "empty":
        return Verdict(INSUFFICIENT, unit=unit, reason="the newest run has no usable values")
    history = [r for r in raw[:-1] if r.kind != "empty"]
    if not history:
        return Verdict(INSUFFICIENT, unit=unit, n_current=newest.n_raw,
                       reason="no earlier run to compare with")

    sigma_ref, sigma_df = _pooled_sigma(history, config)
    hist_stats = [_finish_run(r, sigma_ref, sigma_df, config) for r in history]
    new_stat = _finish_run(newest, sigma_ref, sigma_df, config)

    seg, prev, resets, skipped = _replay(hist_stats, config)
    baseline_idx, note = seg, ""
    if len(seg) == 1 and prev:
        use_prev, judged = _settle(hist_stats, seg, prev, new_stat, config)
        if use_prev:
            note = (f"run {hist_stats[seg[0]].index} looked like a one-off outlier; "
                    "judged against the runs before it")
            skipped, resets, baseline_idx = [*skipped, seg[0]], resets[:-1], prev
    else:
        judged = _judge([hist_stats[i] for i in seg][-config.history_window:], new_stat, config)
    level_runs = [hist_stats[i] for i in baseline_idx]
    trend = _trend(level_runs, new_stat, sign, config)
    if trend is not None and trend.status != NO_CHANGE and judged.changed and (trend.t_stat < 0) == (judged.delta < 0):
        # The level test already reports this change. A step in the newest run also tilts the fitted
        # line; call it a trend only if the runs before the newest were already drifting that way.
        before = _trend(level_runs[:-1], level_runs[-1], sign, config) if len(level_runs) >= 2 else None
        if before is None or (before.t_stat < 0) != (trend.t_stat < 0) or abs(before.t_stat) < 1.3:
            trend = replace(trend, status=NO_CHANGE)
    baseline_idx = baseline_idx[-config.history_window:]

    return _verdict(judged, new_stat, [hist_stats[i] for i in baseline_idx], hist_stats, sign, unit,
                    resets, skipped, trend, note, config)


# --------------------------------------------------------------------------- units


def _common_unit(runs: Sequence[Run]) -> tuple[str | None, list[Run]]:
    """Every run in the newest run's unit, or `UnitMismatch`. No unit anywhere is fine (one
    series, one unit by construction); a unit on some runs but not others is not."""
    target = runs[-1].unit
    given = [r.unit for r in runs]
    if all(u is None or not str(u).strip() for u in given):
        return None, list(runs)
    out: list[Run] = []
    for i, run in enumerate(runs):
        if run.unit is None or not str(run.unit).strip() or target is None or not str(target).strip():
            raise UnitMismatch(f"run {i} has no unit while others have one ({target or run.unit!r})")
        f = unit_factor(run.unit, target)
        if f == 1.0:
            out.append(run)
            continue
        out.append(Run(tuple(v * f for v in run.values), target,
                       None if run.aggregate is None else run.aggregate * f, run.n,
                       None if run.spread is None else run.spread * f, run.label))
    return target, out


# --------------------------------------------------------------------------- per-run statistics

# n * Var(centre) / sigma^2 for normal samples (simulated): the centre of a run is its median for
# n <= 4 and its 20 % trimmed mean (at least one value cut at each end) from n = 5 — as robust
# against a stray slow request as the median, ~25 % less variance.
_CENTRE_VAR = (1.0, 1.0, 1.346, 1.192, 1.138, 1.101, 1.082, 1.072, 1.06, 1.137, 1.119, 1.1, 1.091,
               1.091, 1.136, 1.128, 1.112, 1.106, 1.1, 1.141, 1.128, 1.117, 1.112, 1.109, 1.137,
               1.128, 1.125, 1.122, 1.11, 1.139, 1.133, 1.13, 1.126, 1.117, 1.141, 1.135, 1.131,
               1.126, 1.118, 1.139)
_TRIM = 0.2


def _centre(g: np.ndarray) -> float:
    """Median (n <= 4) or 20 % trimmed mean of the sorted ``g``."""
    n = len(g)
    if n <= 4:
        return _sorted_median(g)
    cut = max(1, int(_TRIM * n))
    return float(g[cut:n - cut].mean())


def _centre_var_factor(n: int) -> float:
    return _CENTRE_VAR[n - 1] if n <= len(_CENTRE_VAR) else 1.13


# small-sample correction of 1.4826 * MAD (median-centred), n = 2 …; n / (n - 0.8) beyond
_MAD_CORR = (1.195, 1.487, 1.359, 1.217, 1.189, 1.139, 1.127, 1.1, 1.096, 1.08, 1.077, 1.065, 1.064, 1.057)


def _sorted_median(x: np.ndarray) -> float:
    """Median of an already sorted array (np.median's overhead dominates on runs this small)."""
    n = len(x)
    h = n // 2
    return float(x[h]) if n % 2 else 0.5 * float(x[h - 1] + x[h])


def _mad_sd(g: np.ndarray) -> float:
    """1.4826 MAD of the sorted ``g``, corrected for small n."""
    n = len(g)
    mad = 1.4826 * _sorted_median(np.sort(np.abs(g - _sorted_median(g))))
    corr = _MAD_CORR[n - 2] if n - 2 < len(_MAD_CORR) else n / (n - 0.8)
    return mad * corr


@dataclass
class _Raw:
    index: int
    kind: str  # 'values' | 'aggregate' | 'empty'
    g: np.ndarray  # oriented log values (higher = better), sorted
    n_raw: int
    agg_sd: float | None = None  # relative sd given with an aggregate


@dataclass
class _Stat:
    index: int
    centre: float  # oriented log centre
    var: float  # variance of the centre from request noise
    var_df: float  # degrees of freedom of that variance estimate
    n: int  # values used
    n_dropped: int
    is_aggregate: bool
    cold_drops: tuple[float, ...] = ()  # how far below the run's centre its cold starts were (log)


def _raw_run(index: int, run: Run, sign: float) -> _Raw:
    if run.values:
        v = np.asarray(run.values, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if len(v):
            return _Raw(index, "values", np.sort(sign * np.log(v)), len(v))
        return _Raw(index, "empty", np.empty(0), 0)
    if run.aggregate is not None and math.isfinite(run.aggregate) and run.aggregate > 0:
        n = max(1, int(run.n or 1))
        rel_sd = None
        if run.spread is not None and math.isfinite(run.spread) and run.spread >= 0:
            rel_sd = run.spread / run.aggregate
        return _Raw(index, "aggregate", np.array([sign * math.log(run.aggregate)]), n, rel_sd)
    return _Raw(index, "empty", np.empty(0), 0)


def _cold_start_cut(g: np.ndarray, sigma: float, config: DetectorConfig) -> int:
    """How many of the lowest (worst) values of the sorted ``g`` are cold starts."""
    n = len(g)
    if n < 2:
        return 0
    threshold = max(config.cold_start_sigmas * sigma, config.cold_start_min)
    reference = _sorted_median(g) if n >= 3 else float(g[-1])  # two values: the better one
    limit = 1 if n == 2 else max(1, n // 3)
    cut = int(np.searchsorted(g, reference - threshold, side="left"))  # values below the line
    return min(cut, limit)


def _own_spread(g: np.ndarray) -> tuple[float, float]:
    """(sd, df) of a run's values after the cold-start cut: the plain sample sd (the cut has taken
    the wild values out; what is left is close to normal, where the sd is the efficient choice)."""
    n = len(g)
    if n < 2:
        return 0.0, 0.0
    d = g - g.mean()
    return math.sqrt(float(d @ d) / (n - 1)), float(n - 1)


def _cut_sigma(g: np.ndarray, sigma_ref: float) -> float:
    """The spread a cold start is measured against: the pooled one, or the run's own robust
    (MAD) spread when that is larger — a run that is noisier all over has no cold starts, just noise."""
    if len(g) >= 5:
        return max(sigma_ref, _mad_sd(g))
    return sigma_ref


def _pooled_sigma(history: Sequence[_Raw], config: DetectorConfig) -> tuple[float, float]:
    """(per-request spread pooled over the earlier runs, its degrees of freedom), weak prior."""
    num = config.request_sd_prior_df * config.request_sd_prior ** 2
    den = config.request_sd_prior_df
    for r in history:
        if r.kind == "aggregate" and r.agg_sd is not None and r.n_raw >= 2:
            d = float(r.n_raw - 1)
            num, den = num + d * r.agg_sd ** 2, den + d
        elif r.kind == "values" and r.n_raw >= 2:
            g = r.g[_cold_start_cut(r.g, _cut_sigma(r.g, config.request_sd_prior), config):]
            s, d = _own_spread(g)
            num, den = num + d * s ** 2, den + d
    return math.sqrt(num / den), den


def _shrunk(own_sd: float, own_df: float, sigma_ref: float, sigma_df: float,
            config: DetectorConfig) -> tuple[float, float]:
    """(variance, df) of a run's per-request spread: its own estimate shrunk towards the pool, unless
    the run is clearly noisier than the pool (F test at 1 %): then its own (a variance change)."""
    if own_df <= 0:
        return sigma_ref ** 2, sigma_df
    if own_sd ** 2 > sigma_ref ** 2 * _f_crit(own_df, sigma_df):
        return own_sd ** 2, own_df
    w = min(sigma_df, config.pool_df_cap)
    return (w * sigma_ref ** 2 + own_df * own_sd ** 2) / (w + own_df), sigma_df + own_df


@lru_cache(maxsize=4096)
def _f_crit_cached(d1: float, d2: float) -> float:
    return float(_stats.f.ppf(0.99, d1, d2))


def _f_crit(d1: float, d2: float) -> float:
    d2 = min(d2, 200.0)
    return _f_crit_cached(math.floor(d1 * 2.0) / 2.0, math.floor(d2) if d2 < 20 else 5.0 * math.floor(d2 / 5.0))


def _finish_run(r: _Raw, sigma_ref: float, sigma_df: float, config: DetectorConfig) -> _Stat:
    """Centre and within-run variance of one run."""
    if r.kind == "aggregate":
        own = (r.agg_sd, float(r.n_raw - 1)) if r.agg_sd is not None and r.n_raw >= 2 else (0.0, 0.0)
        s2, df = _shrunk(own[0], own[1], sigma_ref, sigma_df, config)
        return _Stat(r.index, float(r.g[0]), s2 / r.n_raw, df, r.n_raw, 0, True)
    cut = _cold_start_cut(r.g, _cut_sigma(r.g, sigma_ref), config)
    g = r.g[cut:]
    n = len(g)
    s2, df = _shrunk(*_own_spread(g), sigma_ref, sigma_df, config)
    centre = _centre(g)
    drops = tuple(float(centre - x) for x in r.g[:cut])
    return _Stat(r.index, centre, _centre_var_factor(n) * s2 / n, df, n, cut, False, drops)


# --------------------------------------------------------------------------- the test


@dataclass
class _Judged:
    changed: bool
    delta: float = 0.0  # oriented log change (negative = worse)
    se: float = 0.0
    df: float = 0.0
    t: float = 0.0
    mu: float = 0.0  # baseline centre (oriented log)
    half: float = 0.0  # half-width of the `interval_level` interval of delta


@lru_cache(maxsize=8192)
def _t_quantile(q: float, df: float) -> float:
    return float(_stats.t.ppf(q, df))


def _t_crit(q: float, df: float) -> float:
    """Student t quantile; df rounded down to a multiple of 0.5 (slightly conservative) so that
    the cache stays small."""
    return _t_quantile(q, max(1.0, math.floor(df * 2.0) / 2.0))


def _run_variance(pts: Sequence[_Stat], config: DetectorConfig, *, successive: bool) -> tuple[float, float, float]:
    """(V, df, vbar): the variance of one run's centre around the level — run-to-run offset plus
    its own request noise — from the spread of the runs' centres combined with a prior.

    The prior is tau0^2 + vbar (vbar: the runs' mean within-run variance) and is worth
    nu0 pseudo-runs where tau0 dominates and as much as the per-request spread is known where the
    request noise dominates (Satterthwaite), so that runs of 1–2 requests whose spread is unknown
    lean on their observed run-to-run spread, not on a prior. ``successive``: estimate the spread
    from successive differences (insensitive to a slow trend) instead of around the mean."""
    k = len(pts)
    vbar = sum(p.var for p in pts) / k
    nu_sigma = min(sum(p.var_df for p in pts) / k, config.max_df)
    tau0_2 = config.run_sd_prior ** 2
    prior = tau0_2 + vbar
    nu_prior = prior ** 2 / (tau0_2 ** 2 / config.run_sd_prior_df + vbar ** 2 / max(nu_sigma, 0.5))
    c = [p.centre for p in pts]
    if k >= 2 and successive:
        s2 = sum((c[i + 1] - c[i]) ** 2 for i in range(k - 1)) / (2.0 * (k - 1))
        df_data = 2.0 * (k - 1) ** 2 / (3.0 * k - 4.0)
    elif k >= 2:
        mean = sum(c) / k
        s2 = sum((x - mean) ** 2 for x in c) / (k - 1)
        df_data = float(k - 1)
    else:
        s2, df_data = 0.0, 0.0
    V = (nu_prior * prior + df_data * s2) / (nu_prior + df_data)
    V = max(V, config.run_sd_floor ** 2 + vbar)
    return V, min(nu_prior + df_data, config.max_df), vbar


def _judge(base: Sequence[_Stat], new: _Stat, config: DetectorConfig) -> _Judged:
    """t-test of the newest run's centre against the mean of the baseline runs' centres.

    Var(delta) = tau^2 + v_new + V/k, with tau^2 = V − vbar (the run-to-run part of V), v_new the
    newest run's request-noise variance and V/k that of the baseline mean. Student t with
    Satterthwaite df over the two independently estimated parts (baseline runs / request spread)."""
    k = len(base)
    V, df_v, vbar = _run_variance(base, config, successive=False)
    mu = sum(b.centre for b in base) / k
    # tau^2 + V/k (both estimated from the baseline runs) + the newest run's request noise
    from_runs = max(V - vbar, config.run_sd_floor ** 2) + V / k
    var = from_runs + new.var
    new_df = max(new.var_df, 0.5)
    df = var ** 2 / (from_runs ** 2 / df_v + new.var ** 2 / new_df)
    # The spread of the baseline centres already holds one run's worth of request noise (vbar),
    # known with df_v: only the newest run's request noise beyond that rests on the request spread
    # alone. Without this, runs of one request each (spread unknown) could never be judged.
    from_centres = from_runs + vbar
    beyond = max(new.var - vbar, 0.0)
    df = max(df, var ** 2 / (from_centres ** 2 / df_v + beyond ** 2 / new_df))
    df = min(max(df, 1.0), config.max_df)
    se = math.sqrt(var)
    delta = new.centre - mu
    t = delta / se
    significant = abs(t) >= _t_crit(1.0 - config.alpha / 2.0, df)  # two-sided p < alpha
    big_enough = min(abs(math.expm1(delta)), abs(math.expm1(-delta))) >= config.min_change
    half = _t_crit(0.5 + config.interval_level / 2.0, df) * se
    return _Judged(significant and big_enough, delta, se, df, t, mu, half)


def _replay(hist: Sequence[_Stat], config: DetectorConfig) -> tuple[list[int], list[int], list[int], list[int]]:
    """Walk the history oldest → newest with the same test (at the strict `reset_alpha`) to find
    the current level. Returns (segment, previous segment, reset positions, skipped positions), as
    positions in ``hist``; ``previous`` is non-empty only while the segment is a single run.

    A run that differs from the current segment starts a new one, but a one-run level is not yet
    trusted; the next run decides (`_settle`): at the new level → confirmed; further in the same
    direction → a second step; anywhere else → the one-run level was a one-off outlier run
    (skipped), and that next run is judged against the level before it."""
    seg: list[int] = []
    prev: list[int] = []
    resets: list[int] = []
    skipped: list[int] = []
    W = config.history_window
    config = replace(config, alpha=config.reset_alpha)  # accepting a step needs strong evidence
    for j in range(len(hist)):
        if not seg:
            seg = [j]
            continue
        if len(seg) == 1 and prev:
            use_prev, _ = _settle(hist, seg, prev, hist[j], config)
            if use_prev:  # the one-run level was an outlier: back to the level before it
                skipped.append(seg[0])
                resets.pop()
                seg, prev = prev, []
        if not _judge([hist[i] for i in seg][-W:], hist[j], config).changed:
            seg.append(j)
            if len(seg) == 2:
                prev = []  # the new level is confirmed
            continue
        prev, seg = seg, [j]
        resets.append(j)
    return seg, prev, resets, skipped


def _settle(hist: Sequence[_Stat], seg: list[int], prev: list[int], new: _Stat,
            config: DetectorConfig) -> tuple[bool, _Judged]:
    """With an unconfirmed one-run level ``seg`` after the established level ``prev``: should ``new``
    be judged against ``prev`` (True: the one-run level was an outlier) or against ``seg``?

    Against ``seg`` when ``new`` agrees with it (no change) and is nearer to it than to the old
    level, or moved further in the direction of the step that started it (a second step); against
    ``prev`` otherwise (back at the old level, between the two, or past the old level)."""
    W = config.history_window
    old = [hist[i].centre for i in prev][-W:]
    old_level = sum(old) / len(old)
    one = hist[seg[0]].centre
    vs_seg = _judge([hist[seg[0]]], new, config)
    if vs_seg.changed:
        if (vs_seg.delta < 0) == (one - old_level < 0):
            return False, vs_seg
    elif abs(new.centre - one) <= abs(new.centre - old_level):
        return False, vs_seg
    return True, _judge([hist[i] for i in prev][-W:], new, config)


def _trend(base: Sequence[_Stat], new: _Stat, sign: float, config: DetectorConfig) -> Trend | None:
    """Least-squares slope over the last `trend_window` runs (newest included). The noise of one
    run centre comes from successive differences over all runs of the segment (a trend barely
    inflates them) combined with the same prior as the level test."""
    allpts = [*base, new]
    pts = allpts[-config.trend_window:]
    m = len(pts)
    if m < config.trend_min_runs:
        return None
    y = [p.centre for p in pts]
    xbar = (m - 1) / 2.0
    sxx = sum((i - xbar) ** 2 for i in range(m))
    ybar = sum(y) / m
    b = sum((i - xbar) * (yi - ybar) for i, yi in enumerate(y)) / sxx
    total = b * (m - 1)
    V, df, _ = _run_variance(allpts, config, successive=True)
    se = math.sqrt(V / sxx)
    half = _t_crit(0.5 + config.interval_level / 2.0, df) * se
    t = b / se
    status = NO_CHANGE
    if abs(t) >= _t_crit(1.0 - config.trend_alpha, df) and abs(math.expm1(total)) >= config.min_change:
        status = REGRESSION if b < 0 else IMPROVEMENT
    lo, hi = sorted((math.expm1(sign * (b - half)), math.expm1(sign * (b + half))))
    return Trend(status, math.expm1(sign * b), (lo, hi), math.expm1(sign * total), m, t)


def _verdict(j: _Judged, new: _Stat, base: Sequence[_Stat], hist: Sequence[_Stat], sign: float,
             unit: str | None, resets: Sequence[int], skipped: Sequence[int], trend: Trend | None,
             note: str, config: DetectorConfig) -> Verdict:
    half = j.half
    # back to the metric's own direction: log change of the value = sign * oriented change
    rel = math.expm1(sign * j.delta)
    lo, hi = sorted((math.expm1(sign * (j.delta - half)), math.expm1(sign * (j.delta + half))))
    status = NO_CHANGE
    if j.changed:
        status = REGRESSION if j.delta < 0 else IMPROVEMENT
    near, far = _near_far((lo, hi), rel)
    sev: Severity = "none"
    sev_max: Severity = "none"
    if status != NO_CHANGE:
        sev_near = severity_for(near, config) if near * rel > 0 else "none"
        sev = sev_near if sev_near != "none" else "minor"
        sev_max = max(severity_for(far, config), sev, key=SEVERITIES.index)
    requests = new.n + new.n_dropped
    few = not new.is_aggregate and requests <= LOW_CONFIDENCE_REQUESTS
    low_conf = new.n <= 1 or few or len(base) <= 1
    reasons = [note] if note else []
    if few and requests == 1:
        reasons.append("one request: a cold start would look the same; rerun to confirm")
    elif few and not new.n_dropped:
        reasons.append("two requests: too few to tell a cold start from a change; rerun to confirm")
    if len(base) <= 1:
        reasons.append("only one earlier run at this level: run-to-run noise is assumed, not measured")
    if new.n_dropped:
        reasons.append(f"{new.n_dropped} cold-start request(s) left out")
    if abs(sign * j.delta) > math.log(20):
        reasons.append("more than 20x change: check the units")
    drops = [d for h in hist for d in h.cold_drops]
    if new.n <= 1 and not new.is_aggregate and status == REGRESSION and drops:
        reasons.append(f"this series had {len(drops)} cold-start request(s) in earlier runs")
    to_unit = lambda x: math.exp(sign * x)  # noqa: E731
    return Verdict(
        status=status, rel_change=rel, interval=(lo, hi), severity=sev, severity_max=sev_max,
        baseline=to_unit(j.mu), current=to_unit(new.centre), unit=unit, t_stat=j.t,
        n_current=new.n, n_dropped=new.n_dropped,
        baseline_runs=tuple(b.index for b in base),
        resets=tuple(hist[i].index for i in resets), skipped_runs=tuple(hist[i].index for i in skipped),
        low_confidence=low_conf, trend=trend, reason="; ".join(reasons), earlier_cold_starts=len(drops),
    )


# --------------------------------------------------------------------------- formatting


def _near_far(interval: tuple[float, float], point: float) -> tuple[float, float]:
    lo, hi = interval
    return (hi, lo) if point < 0 else (lo, hi)


def _pct(x: float) -> str:
    """+4.2%, −15%: one decimal below 10 %, signed, with a real minus sign."""
    if abs(x) < 0.0005:
        return "±0.0%"
    digits = 0 if abs(x) >= 0.095 else 1
    return f"{x:+.{digits}%}".replace("-", "−")


def _range(near: float, far: float) -> str:
    """``−11…−19%`` (near bound first, % once, both signed)."""
    return f"{_pct(near).rstrip('%')}…{_pct(far)}"
