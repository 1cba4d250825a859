"""Sweeps: a model's configurations that differ in one numeric setting, as a metric against it.

A llama-bench depth sweep (``n_depth`` 0…65,536), a vLLM request-rate sweep (``request_rate`` 1, 4,
16, inf) or a ``num_ctx`` scan is run to see one curve: the metric against the setting, one line per
combination of the other settings. This module finds those curves in an analysis, never pooling:
each point is one configuration's own figure (its median over successful requests or samples, or a
tool's own statistic), and a line joins configurations equal in every other dimension.

A dimension is a sweep axis when its values are plain numbers (``inf`` allowed: an unthrottled rate)
and take at least `MIN_POINTS` values along one line; identifiers that merely look numeric (build
commits, ids, dates) are not. Of several numeric dimensions of one model and metric, the one with the
longest lines is the axis (one sweep per model and metric).

Pure: pandas in, dataclasses out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.metrics import METRICS

if TYPE_CHECKING:
    from bot.core.analysis.results import Analysis

MIN_POINTS = 3  # a line needs this many settings somewhere to be a sweep
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_NOT_AN_AXIS = re.compile(r"commit|hash|version|date|time|(?:^|_)ids?$|uuid|seed", re.IGNORECASE)
# Which sweeps come first (a chart has room for a few): the metrics people run sweeps for.
METRIC_ORDER = ("throughput_tok_s", "ttft_ms", "prompt_throughput_tok_s", "output_throughput_tok_s",
                "total_throughput_tok_s", "combined_throughput_tok_s", "request_throughput_req_s", "latency_ms",
                "tpot_ms", "itl_ms")
# The tool statistics a line of aggregates may follow, in order of preference: central figures and a
# run's overall rate (a tool's max, pNN or std is a different quantity: never a sweep's line).
AGGREGATE_STATISTICS = ("median", "mean", "overall", "rate", "value", "")


@dataclass(frozen=True)
class SweepPoint:
    x: float  # the setting as a number (inf for an unthrottled rate)
    label: str  # the setting as written ('4096', 'inf')
    config: str  # the configuration's key
    value: float  # its median (rows) or the tool's statistic (aggregates)
    n: int | None  # successful requests or samples (the tool's n for aggregates; None if unrecorded)


@dataclass(frozen=True)
class SweepSeries:
    label: str  # the other settings of the line, 'k=v, k=v' ('' when nothing else varies)
    points: tuple[SweepPoint, ...]  # by setting, ascending
    others: tuple[tuple[str, str], ...] = ()  # the other settings as (dimension, value), those all lines share left out


@dataclass(frozen=True)
class Sweep:
    model: str
    metric: str
    dimension: str  # the numeric setting swept
    statistic: str  # 'median' for rows; the tool's statistic for aggregates
    source: str  # 'rows' (requests or samples) | 'tool' (a tool's own aggregates)
    kind: str  # 'request' | 'sample' | 'aggregate'
    unit: str
    series: tuple[SweepSeries, ...]  # best line first (by its best point)

    @property
    def points(self) -> int:
        return sum(len(s.points) for s in self.series)


def as_setting(value: object) -> float | None:
    """A configuration value as a number when it is a plain one ('4096', '0.8', 'inf'), else None."""
    text = str(value).strip()
    if text.lower() in {"inf", "+inf", "infinity"}:
        return math.inf
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def row_sweeps(analysis: Analysis) -> list[Sweep]:
    """Sweeps over configurations' own medians (requests or samples), for every model and metric."""
    groups = analysis.groups
    if groups.empty:
        return []
    ok = groups.loc[groups["n"] > 0]
    records = [{"model": r["model"], "metric": r["metric"], "config": r["config"], "values": r["values"],
                "value": r["median"], "n": int(r["n"]), "kind": r["kind"], "statistic": "median"}
               for r in ok.to_dict(orient="records")]
    return _sweeps(records, source="rows")


def aggregate_sweeps(analysis: Analysis) -> list[Sweep]:
    """Sweeps over a tool's own figures (one statistic per line: the median when the tool gives one)."""
    agg = analysis.aggregates
    if agg.empty:
        return []
    rows = agg.loc[~agg["failed"].astype(bool)] if "failed" in agg else agg
    records = []
    for r in rows.to_dict(orient="records"):
        n = r.get("n")
        records.append({"model": r["model"], "metric": r["metric"], "config": r["config"],
                        "values": r.get("values") or {}, "value": r["value"],
                        "n": int(n) if isinstance(n, (int, float)) and n == n else None,
                        "kind": "aggregate", "statistic": str(r.get("statistic") or "")})
    chosen = []
    by_key: dict[tuple[str, str], set[str]] = {}
    for r in records:
        by_key.setdefault((str(r["model"]), str(r["metric"])), set()).add(r["statistic"])
    for r in records:
        stats = by_key[(str(r["model"]), str(r["metric"]))]
        preferred = next((s for s in AGGREGATE_STATISTICS if s in stats), None)
        if r["statistic"] == preferred:
            chosen.append(r)
    return _sweeps(chosen, source="tool")


def _sweeps(records: Iterable[Mapping[str, Any]], *, source: str) -> list[Sweep]:
    by_key: dict[tuple[str, str, str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        value = r["value"]
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            continue
        by_key.setdefault((str(r["model"]), str(r["metric"]), str(r["kind"]), str(r["statistic"])), []).append(r)
    out = []
    for (model, metric, kind, statistic), rows in sorted(by_key.items()):
        sweep = _best_axis(model, metric, kind, statistic, rows, source)
        if sweep is not None:
            out.append(sweep)
    return sorted(out, key=lambda s: (_rank(s.metric), -s.points, s.model))


def _rank(metric: str) -> int:
    return METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER)


def _best_axis(model: str, metric: str, kind: str, statistic: str, rows: list[Mapping[str, Any]],
               source: str) -> Sweep | None:
    if len(rows) < MIN_POINTS:
        return None
    dims = sorted({k for r in rows for k in (r["values"] or {}) if not _NOT_AN_AXIS.search(k)})
    best: tuple[tuple[int, int], Sweep] | None = None
    for dim in dims:
        lines = _lines(rows, dim)
        if not lines or max(len(points) for _, points in lines) < MIN_POINTS:
            continue
        higher = METRICS[metric].higher_is_better if metric in METRICS else True
        ordered = sorted(lines, key=lambda line: (-(max if higher else min)(p.value for p in line[1])
                                                  * (1 if higher else -1), str(line[0])))
        series = tuple(SweepSeries(", ".join(f"{k}={v}" for k, v in others), tuple(points), others)
                       for others, points in ordered)
        unit = METRICS[metric].unit if metric in METRICS else ""
        sweep = Sweep(model=model, metric=metric, dimension=dim, statistic=statistic, source=source, kind=kind,
                      unit=unit, series=series)
        score = (max(len(points) for _, points in lines), sweep.points)
        if best is None or score > best[0]:
            best = (score, sweep)
    return best[1] if best is not None else None


def _lines(rows: list[Mapping[str, Any]], dim: str) -> list[tuple[tuple[tuple[str, str], ...], list[SweepPoint]]]:
    """Lines along ``dim``: configurations equal in every other dimension, two points or more each."""
    grouped: dict[tuple[tuple[str, str], ...], list[SweepPoint]] = {}
    for r in rows:
        values = {str(k): str(v) for k, v in (r["values"] or {}).items()}
        x = as_setting(values.get(dim, ""))
        if x is None:
            continue
        rest = tuple(sorted((k, v) for k, v in values.items() if k != dim))
        grouped.setdefault(rest, []).append(SweepPoint(x=x, label=values[dim], config=str(r["config"]),
                                                        value=float(r["value"]), n=r["n"]))
    kept = {rest: sorted({p.x: p for p in reversed(points)}.values(), key=lambda p: p.x)  # one point per setting
            for rest, points in grouped.items() if len({p.x for p in points}) >= 2}
    if len({p.x for points in kept.values() for p in points}) < MIN_POINTS:
        return []
    shared = set.intersection(*(set(rest) for rest in kept)) if kept else set()
    return [(tuple((k, v) for k, v in rest if (k, v) not in shared and v != ""), points)
            for rest, points in kept.items()]
