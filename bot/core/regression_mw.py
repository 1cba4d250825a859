"""Noise-aware regression detection between two benchmark archives (pure pandas/numpy/scipy).

`compare(current, baseline, history=...)` looks at every (model, config, metric) for the metrics in
`METRIC_RULES` and decides whether the current archive is really different from the baseline:

1. Only usable samples count: ``failed == False``, a finite value, ``kind`` not ``'aggregate'``
   (a tool's own summary row is not a sample and would double-count).
2. Fewer than `MIN_SAMPLES` on either side -> "insufficient data"; never an alert.
3. Mann-Whitney U, two-sided, on the per-request values: is the shift more than noise?
   It must reach ``p < ALPHA``.
4. Effect-size floor: the relative change of medians must reach the metric's ``minor`` threshold. With
   hundreds of samples a 1 % shift is "significant" yet nobody should be paged for it.
5. When `MIN_HISTORY` or more earlier digest medians exist, the current median must also be unusual
   against them (robust z-score, median/MAD, ``|z| >= Z_THRESHOLD``, same direction). Archives of
   the same build differ a little run to run (machine temperature, neighbours); history tells how
   much, and keeps a baseline that was itself an outlier from producing a false alert.
6. Severity of a significant change grades its size (`severity_for`); improvements are graded the
   same way so the digest can rank them, but only regressions are "bad news".

The caller's frames are never modified.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from bot.core.numbers import format_number
from bot.core.types import MEASUREMENT_COLUMNS


@dataclass(frozen=True)
class MetricRule:
    """How to judge one metric. The three thresholds are |relative change of medians| at which a
    *significant* change becomes minor, major and critical (below ``minor``: no change)."""

    higher_is_better: bool
    minor: float  # the effect-size floor: smallest change worth a message
    major: float
    critical: float
    label: str
    unit: str


# Calibrated against realistic run-to-run noise (see tests/synth.py): throughput medians of two runs
# of one build differ by ~1.5 % (1 sd), so 5 % is > 3 sd. TTFT is far noisier per request and run
# to run (scheduling, prompt cache, cold starts; ~4 % sd between run medians), so it needs 15 %.
METRIC_RULES: Mapping[str, MetricRule] = {
    "throughput_tok_s": MetricRule(True, 0.05, 0.15, 0.30, "throughput", "tok/s"),
    "ttft_ms": MetricRule(False, 0.15, 0.30, 0.60, "TTFT", "ms"),
}

MIN_SAMPLES = 5  # per side, for Mann-Whitney to be meaningful
ALPHA = 0.01  # Mann-Whitney significance; strict because one digest tests many keys at once
MIN_HISTORY = 3  # earlier digest medians needed for the robust z-score
Z_THRESHOLD = 3.5  # Iglewicz & Hoaglin's cut-off for the modified z-score
MAD_TO_SD = 1.4826  # MAD of a normal distribution times this = its standard deviation
# Floor of the history spread, relative to its centre: three identical medians would otherwise
# give MAD = 0 and make any wiggle infinitely "unusual".
MIN_HISTORY_SPREAD = 0.01

SEVERITIES = ("none", "minor", "major", "critical")
REGRESSION, IMPROVEMENT, NO_CHANGE = "regression", "improvement", "no change"
METHOD_MW = "mann-whitney"
METHOD_MW_Z = "mann-whitney+robust-z"
METHOD_INSUFFICIENT = "insufficient data"
METHOD_DEFINITIONS = "definitions differ"

HISTORY_COLUMNS: tuple[str, ...] = ("digest", "model", "config", "metric", "median", "n")
MEDIAN_COLUMNS: tuple[str, ...] = ("model", "config", "metric", "median", "n")

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Change:
    """The verdict for one (model, config, metric). Medians are in the metric's canonical unit;
    ``rel_change`` = (current - baseline) / baseline; None where not computable."""

    model: str
    config: str
    metric: str
    baseline_median: float | None
    current_median: float | None
    rel_change: float | None
    direction: str  # 'regression' | 'improvement' | 'no change'
    severity: str  # 'none' | 'minor' | 'major' | 'critical'
    p_value: float | None
    n_baseline: int
    n_current: int
    method: str  # 'mann-whitney' | 'mann-whitney+robust-z' | 'insufficient data' | 'definitions differ'
    z_score: float | None = None

    @property
    def is_alert(self) -> bool:
        return self.severity != "none"


# --------------------------------------------------------------------------- public functions


def compare(
    current: pd.DataFrame,
    baseline: pd.DataFrame,
    *,
    history: pd.DataFrame | None = None,
    metrics: Iterable[str] = tuple(METRIC_RULES),
) -> list[Change]:
    """Compare ``current`` with ``baseline`` (tidy measurement frames); worst change first.

    ``history`` holds earlier digests' medians (columns `HISTORY_COLUMNS`, e.g. built with
    `history_from_archives` or by concatenating stored `digest_medians`); it must not include
    the current archive. Keys present on one side only come back as "insufficient data".
    """
    wanted = [m for m in metrics if m in METRIC_RULES]
    cur = _groups(current, wanted)
    base = _groups(baseline, wanted)
    hist = _history_groups(history, wanted)
    changes = [
        _judge(key, base.get(key), cur.get(key), hist.get(key)) for key in sorted(set(cur) | set(base))
    ]
    return sorted(changes, key=_worst_first)


def digest_medians(measurements: pd.DataFrame) -> pd.DataFrame:
    """Per (model, config, metric) median and sample count of one archive, to store with a digest
    and feed back later as history. Columns `MEDIAN_COLUMNS`."""
    rows = [
        {"model": k[0], "config": k[1], "metric": k[2], "median": float(np.median(v)), "n": len(v)}
        for k, (v, _defs) in sorted(_groups(measurements, list(METRIC_RULES)).items())
    ]
    return pd.DataFrame(rows, columns=list(MEDIAN_COLUMNS))


def history_from_archives(archives: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """History frame from earlier digests' measurement frames (oldest first)."""
    parts = [digest_medians(frame).assign(digest=str(i)) for i, frame in enumerate(archives)]
    if not parts:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(HISTORY_COLUMNS)]


def severity_for(rel_change: float, metric: str) -> str:
    """Severity tier of a *significant* change of this relative size."""
    rule, size = METRIC_RULES[metric], abs(rel_change)
    if size >= rule.critical:
        return "critical"
    if size >= rule.major:
        return "major"
    if size >= rule.minor:
        return "minor"
    return "none"


def summarize(changes: Sequence[Change], *, max_items: int = 10) -> str:
    """Plain-text summary: the alerts worst first, or "no significant change" when that is true.

    Model and config names come from the archive (untrusted) and are not escaped here; a Slack
    caller must escape ``&``, ``<`` and ``>`` before posting this as mrkdwn.
    """
    alerts = sorted((c for c in changes if c.is_alert), key=_worst_first)
    compared = [c for c in changes if c.method in (METHOD_MW, METHOD_MW_Z)]
    skipped = len(changes) - len(compared)
    skipped_note = f"; {skipped} without enough comparable data" if skipped else ""
    if not changes:
        return "Nothing to compare: neither archive has throughput or TTFT samples."
    if not compared:
        return f"Not enough data to compare ({len(changes)} model/config/metric combinations)."
    if not alerts:
        return f"No significant change ({len(compared)} comparisons within noise{skipped_note})."
    regressions = sum(c.direction == REGRESSION for c in alerts)
    improvements = len(alerts) - regressions
    lines = [
        f"{plural(regressions, 'regression')}, {plural(improvements, 'improvement')} "
        f"({len(compared)} comparisons{skipped_note})."
    ]
    lines += [f"• {_describe(c)}" for c in alerts[:max_items]]
    if len(alerts) > max_items:
        lines.append(f"… and {len(alerts) - max_items} more.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- internals


def _groups(frame: pd.DataFrame, metrics: list[str]) -> dict[Key, tuple[np.ndarray, frozenset[str]]]:
    """Usable values and the TTFT/metric definitions seen, per key. Reads, never writes, ``frame``."""
    missing = [c for c in ("model", "config", "metric", "value", "failed", "kind") if c not in frame]
    if missing:
        raise ValueError(f"measurement frame lacks columns {missing}; expected {MEASUREMENT_COLUMNS}")
    values = pd.to_numeric(frame["value"], errors="coerce")
    # Anything not explicitly False (True, NaN, garbage) is treated as failed: it never counts.
    ok = frame["failed"].map(lambda f: isinstance(f, (bool, np.bool_)) and not f).astype(bool)
    usable = (
        ok
        & frame["metric"].isin(metrics)
        & (frame["kind"] != "aggregate")
        & np.isfinite(values)
    )
    subset = pd.DataFrame(
        {
            "model": frame["model"].fillna("").astype(str),
            "config": frame["config"].fillna("").astype(str),
            "metric": frame["metric"].astype(str),
            "value": values,
            "definition": (
                frame["definition"].fillna("").astype(str) if "definition" in frame else ""
            ),
        }
    )[usable]
    out: dict[Key, tuple[np.ndarray, frozenset[str]]] = {}
    for key, group in subset.groupby(["model", "config", "metric"], sort=True):
        out[(str(key[0]), str(key[1]), str(key[2]))] = (
            group["value"].to_numpy(dtype=float),
            frozenset(group["definition"]),
        )
    return out


def _history_groups(history: pd.DataFrame | None, metrics: list[str]) -> dict[Key, np.ndarray]:
    if history is None or len(history) == 0:
        return {}
    missing = [c for c in ("model", "config", "metric", "median") if c not in history]
    if missing:
        raise ValueError(f"history frame lacks columns {missing}; expected {HISTORY_COLUMNS}")
    medians = pd.to_numeric(history["median"], errors="coerce")
    usable = np.isfinite(medians) & history["metric"].isin(metrics)
    if "n" in history:  # a digest median from too few samples is not a reliable history point
        usable &= pd.to_numeric(history["n"], errors="coerce").fillna(0) >= MIN_SAMPLES
    subset = pd.DataFrame(
        {
            "model": history["model"].fillna("").astype(str),
            "config": history["config"].fillna("").astype(str),
            "metric": history["metric"].astype(str),
            "median": medians,
        }
    )[usable]
    return {
        (str(k[0]), str(k[1]), str(k[2])): g["median"].to_numpy(dtype=float)
        for k, g in subset.groupby(["model", "config", "metric"], sort=True)
    }


def _judge(
    key: Key,
    base: tuple[np.ndarray, frozenset[str]] | None,
    cur: tuple[np.ndarray, frozenset[str]] | None,
    hist: np.ndarray | None,
) -> Change:
    model, config, metric = key
    rule = METRIC_RULES[metric]
    b = base[0] if base else np.empty(0)
    c = cur[0] if cur else np.empty(0)
    b_med = float(np.median(b)) if len(b) else None
    c_med = float(np.median(c)) if len(c) else None
    rel = (c_med - b_med) / abs(b_med) if b_med and c_med is not None else None

    def verdict(method: str, *, p: float | None = None, z: float | None = None,
                significant: bool = False) -> Change:
        direction, severity = NO_CHANGE, "none"
        if significant and rel is not None:
            worse = rel < 0 if rule.higher_is_better else rel > 0
            direction = REGRESSION if worse else IMPROVEMENT
            severity = severity_for(rel, metric)
        return Change(model, config, metric, b_med, c_med, rel, direction, severity, p,
                      len(b), len(c), method, z)

    if len(b) < MIN_SAMPLES or len(c) < MIN_SAMPLES or rel is None:
        return verdict(METHOD_INSUFFICIENT)
    if base and cur and base[1] != cur[1]:
        return verdict(METHOD_DEFINITIONS)  # e.g. TTFT measured differently: not comparable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(mannwhitneyu(b, c, alternative="two-sided").pvalue)
    p_value = p if math.isfinite(p) else None
    significant = p_value is not None and p_value < ALPHA and abs(rel) >= rule.minor

    assert c_med is not None  # narrowed by the insufficient-data check above
    if hist is not None and len(hist) >= MIN_HISTORY:
        centre = float(np.median(hist))
        spread = max(MAD_TO_SD * float(np.median(np.abs(hist - centre))), MIN_HISTORY_SPREAD * abs(centre))
        z = (c_med - centre) / spread if spread > 0 else 0.0
        unusual = abs(z) >= Z_THRESHOLD and (z > 0) == (rel > 0)
        return verdict(METHOD_MW_Z, p=p_value, z=float(z), significant=significant and unusual)
    return verdict(METHOD_MW, p=p_value, significant=significant)


_DIRECTION_RANK = {REGRESSION: 0, IMPROVEMENT: 1, NO_CHANGE: 2}


def _worst_first(change: Change) -> tuple[object, ...]:
    compared = change.method in (METHOD_MW, METHOD_MW_Z)
    return (
        _DIRECTION_RANK[change.direction],
        -SEVERITIES.index(change.severity),
        0 if compared else 1,
        -abs(change.rel_change) if change.rel_change is not None else 0.0,
        change.model,
        change.config,
        change.metric,
    )


def _describe(change: Change) -> str:
    rule = METRIC_RULES[change.metric]
    where = change.model or "(no model)"
    if change.config:
        where += f" [{change.config}]"
    p = f"p={change.p_value:.1g}" if change.p_value is not None else "p=n/a"
    return (
        f"{change.severity.upper()} {change.direction}: {where} {rule.label} "
        f"{change.rel_change:+.1%} ({format_number(change.baseline_median, style='change')} → "
        f"{format_number(change.current_median, style='change')} "
        f"{rule.unit} median; {p}, n={change.n_baseline}/{change.n_current})"
    )




def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
