"""What is news in the newest archive compared with earlier ones: one pure function, `build_news`.

Used by the scheduled digest (the newest archive vs the earlier digests of its subscription) and by
``/chimera compare`` (archive B vs archive A, or one configuration vs another). Input: measurement
frames (`bot.core.types.MEASUREMENT_COLUMNS`; ``model``, ``config``, ``metric``, ``value``, ``unit``,
``failed``, ``kind``, ``definition`` are read, nothing is written), each labelled with its archive.

News is never a green check. Each of these is its own `NewsItem`, ranked by `Level`:

======================  ========  ===========================================================
kind                    level     when
======================  ========  ===========================================================
every request failed    critical  a model/configuration's requests in the newest archive all failed
regression              its tier  the detector (`bot.core.regression`) found the newest run worse
failure rate up         major/    more requests failed than in the baseline (Fisher exact, one-sided
                        minor     p < 0.01, and at least 5 points more); major from +20 points
model gone              major     in the baseline, not in the newest archive
slow creep              minor+    the detector's trend alert (a slow slide no single step shows)
configuration gone      minor     a model's configuration no longer measured
configuration changed   warning   a dimension's value changed (``num_ctx`` 2048 → 4096): not compared
configuration key       warning   a dimension added/removed, the rest the same: compared as before
changed
unit changed            warning/  units that cannot be converted (not compared) / info when converted
                        info
definition changed      warning   the metric is defined differently (e.g. TTFT): not compared
too few requests        warning   the newest run has 1–2 usable requests where the baseline had more
                                  (judged all the same, low confidence), or none for a metric it had
improvement             info      the detector found the newest run better
model new / config new  info      nothing earlier to compare with
======================  ========  ===========================================================

A series is (model, comparable configuration, metric) — repetition markers such as ``seed`` are not
configuration (`bot.core.comparable`). Its runs are the history archives holding it (oldest first),
then the newest. A run's values are its successful per-request values; a tool's aggregates stand in
when a run has no per-request values (one value each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from bot.core.comparable import ConfigDiff, comparable_config, match_configs
from bot.core.metrics import METRICS
from bot.core.regression import (
    DEFAULT_CONFIG,
    IMPROVEMENT,
    INCOMPARABLE,
    INSUFFICIENT,
    LOW_CONFIDENCE_REQUESTS,
    NO_CHANGE,
    REGRESSION,
    DetectorConfig,
    Run,
    Severity,
    Verdict,
    detect,
    severity_for,
)
from bot.core.units import UnitMismatch, unit_factor

Level = Literal["critical", "major", "minor", "warning", "info"]
LEVELS: tuple[Level, ...] = ("critical", "major", "minor", "warning", "info")  # worst first

NewsKind = Literal[
    "every request failed", "regression", "failure rate up", "model gone", "slow creep",
    "configuration gone", "configuration changed", "configuration key changed", "unit changed",
    "definition changed", "too few requests", "improvement", "model new", "configuration new",
]
KINDS: tuple[NewsKind, ...] = (
    "every request failed", "regression", "failure rate up", "model gone", "slow creep",
    "configuration gone", "configuration changed", "configuration key changed", "unit changed",
    "definition changed", "too few requests", "improvement", "model new", "configuration new",
)

# The metrics a digest judges: what users wait for or get. Token counts describe the workload;
# load, prompt-eval and eval times are parts of TTFT and latency (and move with token counts).
JUDGED_METRICS: tuple[str, ...] = (
    "throughput_tok_s", "prompt_throughput_tok_s", "ttft_ms", "latency_ms", "tpot_ms", "itl_ms",
    "request_throughput_req_s", "time_ms",
)
# TTFT moves more from run to run than throughput (prompt cache, scheduling): a wider prior.
METRIC_CONFIGS: Mapping[str, DetectorConfig] = {"ttft_ms": replace(DEFAULT_CONFIG, run_sd_prior=0.04)}

FAILURE_ALPHA = 0.01  # one-sided Fisher exact test of "more requests failed than in the baseline"
FAILURE_MIN_RISE = 0.05  # … and at least this many more (5 points): 1 of 30 is not news
FAILURE_MAJOR_RISE = 0.20

SeriesKey = tuple[str, str, str]  # (model, comparable config, metric)
GroupKey = tuple[str, str]  # (model, comparable config)


@dataclass(frozen=True)
class Snapshot:
    """One archive's measurements (a tidy frame) and its name."""

    label: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Requests:
    """A model/configuration's requests in one archive."""

    total: int
    failed: int
    reasons: tuple[str, ...] = ()  # the most frequent failure reasons, most frequent first

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass(frozen=True)
class SeriesResult:
    """The detector's verdict on one series, with the archives it was judged against."""

    model: str
    config: str
    metric: str
    verdict: Verdict
    baseline_labels: tuple[str, ...]  # archives of the baseline runs (oldest first)
    history_runs: int  # earlier archives holding this series (after unit/definition checks)
    baseline_n: int = 0  # values of this series in the baseline archive (0: not in it)
    aggregate: bool = False  # the newest run's values are a tool's own aggregates, not requests

    @property
    def few_requests(self) -> bool:
        """The newest run has 1–2 requests: judged, with a wide interval (low confidence)."""
        v = self.verdict
        return not self.aggregate and v.n_current + v.n_dropped <= LOW_CONFIDENCE_REQUESTS

    @property
    def fewer_than_before(self) -> bool:
        """… and the baseline had more: news, not the series' usual size."""
        return self.few_requests and self.baseline_n > LOW_CONFIDENCE_REQUESTS

    @property
    def compared(self) -> bool:
        return self.verdict.status in (REGRESSION, IMPROVEMENT, NO_CHANGE)


@dataclass(frozen=True)
class NewsItem:
    """One line of news. ``model``/``config`` may be '' (no model / no configuration named)."""

    kind: NewsKind
    level: Level
    model: str
    config: str = ""
    metric: str = ""
    series: SeriesResult | None = None  # regression, improvement, slow creep, too few requests
    requests: Requests | None = None  # the newest archive's (failures, too few requests)
    baseline_requests: Requests | None = None
    configs: tuple[str, ...] = ()  # model gone/new, configuration gone/new: the configurations
    diff: ConfigDiff | None = None  # configuration (key) changed
    previous_config: str = ""  # configuration changed: the baseline's
    units: tuple[str, str] = ("", "")  # unit changed: (baseline, newest)
    converted: bool = False  # unit changed: the baseline was converted and compared
    definitions: tuple[str, str] = ("", "")  # definition changed: (baseline, newest)
    note: str = ""  # anything else worth a clause (plain text)

    @property
    def rank(self) -> tuple[int, int]:
        return LEVELS.index(self.level), KINDS.index(self.kind)


@dataclass(frozen=True)
class News:
    """Everything news in ``current`` since ``baseline`` (the newest earlier archive)."""

    current: str
    baseline: str | None  # None: nothing earlier (a first digest)
    history: tuple[str, ...] = ()  # the earlier archives used, oldest first
    items: tuple[NewsItem, ...] = ()  # worst first
    series: tuple[SeriesResult, ...] = ()  # every judged series, in key order

    @property
    def worst(self) -> NewsItem | None:
        return self.items[0] if self.items else None

    @property
    def compared(self) -> int:
        return sum(s.compared for s in self.series)

    def of_kind(self, *kinds: NewsKind) -> list[NewsItem]:
        return [item for item in self.items if item.kind in kinds]

    def tally(self) -> list[tuple[NewsKind, int]]:
        """How many items of each kind, worst kind first."""
        counts = Counter(item.kind for item in self.items)
        return [(kind, counts[kind]) for kind in KINDS if counts[kind]]


def build_news(current: Snapshot, history: Sequence[Snapshot], *,
               metrics: Iterable[str] = JUDGED_METRICS) -> News:
    """The news of ``current`` against ``history`` (earlier archives, oldest first; the last one is
    the baseline for "gone", "new" and failure rates). An empty history is a first digest: no news."""
    if not history:
        return News(current.label, None)
    wanted = tuple(m for m in metrics if m in METRICS)
    cur = _Extract.of(current.frame, wanted)
    hist = [_Extract.of(s.frame, wanted) for s in history]
    labels = tuple(s.label for s in history)
    return _Builder(cur, hist, labels, current.label).build()


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class _RunData:
    values: tuple[float, ...]
    unit: str
    definitions: frozenset[str]
    aggregate: bool = False  # a tool's aggregates stand in for requests


@dataclass
class _Extract:
    """One archive read once: series runs, requests per model/configuration, configurations."""

    series: dict[SeriesKey, _RunData] = field(default_factory=dict)
    requests: dict[GroupKey, Requests] = field(default_factory=dict)
    configs: dict[str, set[str]] = field(default_factory=dict)  # model -> comparable configs

    @staticmethod
    def of(frame: pd.DataFrame, metrics: tuple[str, ...]) -> _Extract:
        out = _Extract()
        if frame is None or len(frame) == 0:
            return out
        n = len(frame)

        def column(name: str, default: object) -> pd.Series:
            return frame[name] if name in frame else pd.Series([default] * n, index=frame.index)

        model = column("model", "").fillna("").astype(str)
        raw_config = column("config", "").fillna("").astype(str)
        config = raw_config.map({c: comparable_config(c) for c in raw_config.unique()})
        metric = column("metric", "").fillna("").astype(str)
        values = pd.to_numeric(column("value", np.nan), errors="coerce")
        failed = column("failed", False).map(lambda f: not (isinstance(f, (bool, np.bool_)) and not f))
        kind = column("kind", "request").fillna("request").astype(str)
        rows = pd.DataFrame({
            "model": model, "config": config, "metric": metric, "value": values,
            "failed": failed.astype(bool), "kind": kind,
            "unit": column("unit", "").fillna("").astype(str),
            "definition": column("definition", "").fillna("").astype(str),
            "error": column("error", "").fillna("").astype(str),
            "request": column("request_id", "").fillna("").astype(str),
        })
        for (m, c), group in rows.groupby(["model", "config"], sort=True):
            out.configs.setdefault(str(m), set()).add(str(c))
            reqs = group[group["kind"] != "aggregate"]
            if len(reqs):
                out.requests[(str(m), str(c))] = _requests(reqs)
        usable = rows[~rows["failed"] & rows["metric"].isin(metrics) & np.isfinite(rows["value"])
                      & (rows["value"] > 0)]
        for (m, c, name), group in usable.groupby(["model", "config", "metric"], sort=True):
            run = _run(group)
            if run is not None:
                out.series[(str(m), str(c), str(name))] = run
        return out


def _requests(rows: pd.DataFrame) -> Requests:
    """Requests by id (a request has one row per metric); one without an id is one row."""
    ids = rows["request"].where(rows["request"] != "", pd.Series("#row" + rows.index.astype(str), index=rows.index))
    failed_ids = ids[rows["failed"]]
    failed = failed_ids.nunique()
    errors = rows.loc[rows["failed"], "error"].groupby(failed_ids).first()
    reasons = tuple(r for r, _ in Counter(e for e in errors if e).most_common(2))
    return Requests(int(ids.nunique()), int(failed), reasons)


def _run(group: pd.DataFrame) -> _RunData | None:
    """Per-request values if the run has any, else the tool's aggregates; in the most common unit
    (other convertible units converted, the rest dropped)."""
    rows = group[group["kind"] != "aggregate"]
    aggregate = not len(rows)
    if aggregate:
        rows = group
    unit = rows["unit"].value_counts().index[0]
    values: list[float] = []
    for u, part in rows.groupby("unit", sort=False):
        try:
            factor = unit_factor(str(u), unit) if str(u) and unit else (1.0 if str(u) == unit else None)
        except UnitMismatch:
            factor = None
        if factor is not None:
            values += [float(v) * factor for v in part["value"]]
    if not values:
        return None
    return _RunData(tuple(values), unit, frozenset(d for d in rows["definition"] if d), aggregate)


# --------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, cur: _Extract, hist: list[_Extract], labels: tuple[str, ...], label: str) -> None:
        self.cur, self.hist, self.labels, self.label = cur, hist, labels, label
        self.base = hist[-1]
        self.items: list[NewsItem] = []
        self.results: list[SeriesResult] = []
        # (model, newest config) -> the name the earlier archives use for the same series
        self.renamed: dict[GroupKey, str] = {}
        self.dead: set[GroupKey] = set()  # every request failed: nothing to judge

    def build(self) -> News:
        self._models_and_configs()
        self._failures()
        self._series()
        items = sorted(self.items, key=lambda i: (*i.rank, i.model, i.config, i.metric))
        return News(self.label, self.labels[-1], self.labels, tuple(items), tuple(self.results))

    def add(self, item: NewsItem) -> None:
        self.items.append(item)

    # --- models and configurations -----------------------------------------------------------

    def _models_and_configs(self) -> None:
        base, cur = self.base.configs, self.cur.configs
        seen: dict[str, set[str]] = {}
        for h in self.hist:
            for model, configs in h.configs.items():
                seen.setdefault(model, set()).update(configs)
        for model in sorted(set(base) - set(cur)):
            self.add(NewsItem("model gone", "major", model, configs=tuple(sorted(base[model]))))
        for model in sorted(set(cur) - set(seen)):
            self.add(NewsItem("model new", "info", model, configs=tuple(sorted(cur[model]))))
        for model in sorted(set(base) & set(cur)):
            match = match_configs(base[model], cur[model], seen=seen.get(model, set()) - base[model])
            for old, new in match.same_series.items():
                self.renamed[(model, new)] = old
            if match.key_changes:
                first = sorted(match.key_changes)[0]
                was = {new: old for old, new in match.same_series.items()}
                self.add(NewsItem("configuration key changed", "warning", model, first,
                                  configs=tuple(sorted(match.key_changes)), diff=match.key_changes[first],
                                  previous_config=was[first]))
            for old, new, diff in match.value_changes:
                self.add(NewsItem("configuration changed", "warning", model, new, diff=diff,
                                  previous_config=old))
            if match.gone:
                self.add(NewsItem("configuration gone", "minor", model, configs=match.gone))
            if match.new:
                self.add(NewsItem("configuration new", "info", model, configs=match.new))

    def _earlier_name(self, model: str, config: str) -> str:
        return self.renamed.get((model, config), config)

    # --- failures -----------------------------------------------------------------------------

    def _failures(self) -> None:
        for (model, config), now in sorted(self.cur.requests.items()):
            before = self.base.requests.get((model, self._earlier_name(model, config)))
            if now.total and now.failed == now.total:
                self.dead.add((model, config))
                still = before is not None and before.total > 0 and before.failed == before.total
                self.add(NewsItem("every request failed", "critical", model, config, requests=now,
                                  baseline_requests=before, note="as in the baseline" if still else ""))
                continue
            if before is None or not before.total or now.rate - before.rate < FAILURE_MIN_RISE:
                continue
            table = [[now.failed, now.total - now.failed], [before.failed, before.total - before.failed]]
            p = float(fisher_exact(table, alternative="greater")[1])
            if p < FAILURE_ALPHA:
                level: Level = "major" if now.rate - before.rate >= FAILURE_MAJOR_RISE else "minor"
                self.add(NewsItem("failure rate up", level, model, config, requests=now,
                                  baseline_requests=before))

    # --- series -------------------------------------------------------------------------------

    def _series(self) -> None:
        few: dict[GroupKey, list[SeriesResult]] = {}
        for key in sorted(self.cur.series):
            result = self._judge(key)
            if result is None:
                continue
            self.results.append(result)
            model, config, metric = key
            v = result.verdict
            if v.status == REGRESSION:
                self.add(NewsItem("regression", _level(v.severity), model, config, metric, series=result))
            elif v.status == IMPROVEMENT:
                self.add(NewsItem("improvement", "info", model, config, metric, series=result))
            if v.trend is not None and v.trend.is_alert and v.status != REGRESSION:
                self.add(NewsItem("slow creep", _level(severity_for(v.trend.total)), model, config, metric,
                                  series=result))
            if result.compared and result.fewer_than_before:
                few.setdefault((model, config), []).append(result)
        self._missing_metrics()
        for (model, config), results in few.items():
            worst = min(results, key=lambda r: r.verdict.n_current + r.verdict.n_dropped)
            self.add(NewsItem("too few requests", "warning", model, config, worst.metric, series=worst,
                              requests=self.cur.requests.get((model, config)),
                              baseline_requests=self.base.requests.get((model, self._earlier_name(model, config)))))

    def _judge(self, key: SeriesKey) -> SeriesResult | None:
        model, config, metric = key
        now = self.cur.series[key]
        earlier = (model, self._earlier_name(model, config), metric)
        runs: list[Run] = []
        used: list[str] = []
        baseline_n = 0
        for label, h in zip(self.labels, self.hist, strict=True):
            run = h.series.get(earlier)
            if run is None:
                continue
            if h is self.base:
                baseline_n = len(run.values)
            if run.definitions != now.definitions:
                if h is self.base:
                    self.add(NewsItem("definition changed", "warning", model, config, metric,
                                      definitions=(_one(run.definitions), _one(now.definitions))))
                continue
            if not _convertible(run.unit, now.unit):
                if h is self.base:
                    self.add(NewsItem("unit changed", "warning", model, config, metric, units=(run.unit, now.unit)))
                continue
            if h is self.base and run.unit != now.unit:
                self.add(NewsItem("unit changed", "info", model, config, metric, units=(run.unit, now.unit),
                                  converted=True))
            runs.append(Run(run.values, run.unit or None, label=label))
            used.append(label)
        if not runs:
            return None  # nothing earlier to compare with: new series are news of their own
        runs.append(Run(now.values, now.unit or None, label=self.label))
        rule = METRICS[metric]
        verdict = detect(runs, higher_is_better=rule.higher_is_better,
                         config=METRIC_CONFIGS.get(metric, DEFAULT_CONFIG))
        labels = () if verdict.status in (INSUFFICIENT, INCOMPARABLE) else tuple(used[i] for i in verdict.baseline_runs)
        return SeriesResult(model, config, metric, verdict, labels, len(runs) - 1, baseline_n, now.aggregate)

    def _missing_metrics(self) -> None:
        """A metric the baseline had for a model/configuration that is still there, alive, but
        without a single usable value now."""
        missing: dict[GroupKey, list[str]] = {}
        for model, config, metric in sorted(self.base.series):
            newest = [c for c in self.cur.configs.get(model, set())
                      if self._earlier_name(model, c) == config]
            if len(newest) != 1 or (model, newest[0]) in self.dead:
                continue
            if (model, newest[0], metric) not in self.cur.series:
                missing.setdefault((model, newest[0]), []).append(metric)
        for (model, config), names in missing.items():
            self.add(NewsItem("too few requests", "warning", model, config, names[0],
                              requests=self.cur.requests.get((model, config)),
                              note="no usable value of " + ", ".join(METRICS[n].label for n in names)))


def _level(severity: Severity) -> Level:
    """The news level of an alert's severity (an alert is at least minor)."""
    return "critical" if severity == "critical" else "major" if severity == "major" else "minor"


def _convertible(a: str, b: str) -> bool:
    if a == b:
        return True
    if not a or not b:
        return False
    try:
        unit_factor(a, b)
    except UnitMismatch:
        return False
    return True


def _one(definitions: frozenset[str]) -> str:
    return "; ".join(sorted(definitions)) or "unlabelled"
