"""Numbered facts: every conclusion of the analysis as (id, statement, value, unit, sources).

Facts are the only numbers the narrative and Slack callouts may use. Ids are assigned in a stable
order (most important first), so the same archive always yields the same ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.claims import ClaimCheck
from bot.core.analysis.groups import group_values
from bot.core.analysis.rankings import RankingCheck
from bot.core.analysis.requests import describe, is_text, median, welch
from bot.core.analysis.results import Analysis, ConfigComparison, ModelStats
from bot.core.codes import column_array, column_list
from bot.core.metrics import METRICS
from bot.core.numbers import format_number
from bot.core.types import Fact, FactOrigin, FactRole, Inventory, quoted

SIGNIFICANCE = 0.05
MAX_CONFIG_FACTS = 12  # per model and metric: the fastest ones (every configuration is in the JSON)
MAX_AGGREGATE_FACTS = 40  # per model and metric

# A fact statement's number (and the report's tables): `bot.core.numbers`, "statement" precision.
stated = partial(format_number, style="statement")


class _Facts:
    """The facts as added (their fields), made `Fact`s once their ids are known."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, dict[str, Any]]] = []
        # a group row's "; "-joined sources text -> its sorted files, and each file name -> one string: at
        # 10,000 files ~30,000 configuration facts were each keeping their own split of a shared text
        # (~5 B a measurement row). A `Fact` is frozen and its sources a tuple, so sharing one is safe.
        self._joined: dict[str, tuple[str, ...]] = {}
        self._names: dict[str, str] = {}

    def add(self, statement: str, value: float, unit: str, sources: Iterable[str] | str, *, importance: int,
            model: str = "", config: str = "", metric: str = "", rows: int | None = None,
            role: FactRole = "", origin: FactOrigin = "data") -> None:
        """``sources``: the files, or a group row's "; "-joined sources text (never a single file name)."""
        kept = self._split(sources) if isinstance(sources, str) else tuple(sorted(set(sources)))
        fields = {"statement": statement, "value": float(value), "unit": unit, "sources": kept,
                  "importance": importance, "model": model, "config": config, "metric": metric, "rows": rows,
                  "role": role, "origin": origin}
        self.items.append((importance, len(self.items), fields))

    def _split(self, joined: str) -> tuple[str, ...]:
        kept = self._joined.get(joined)
        if kept is None:
            files = sorted(set(joined.split("; ")))
            kept = self._joined[joined] = tuple(self._names.setdefault(name, name) for name in files)
        return kept

    def numbered(self) -> list[Fact]:
        # most important first, equals in the order added (a stable sort keeps it, reversed too)
        ordered = sorted(self.items, key=itemgetter(0), reverse=True)
        return [_fact({"id": f"F{i}", **fields}) for i, (_, _, fields) in enumerate(ordered, start=1)]


def _fact(fields: dict[str, Any]) -> Fact:
    """``Fact(**fields)`` (every field given), its fields set as its ``__init__`` sets them. `Fact` is a frozen
    dataclass, whose ``__init__`` sets each of its 12 fields through ``object.__setattr__``: ~4 µs a fact
    against ~0.5 µs here, and a real archive has ~220 facts per analysis. It has no ``__post_init__`` and
    no field made by a factory, so the instance is the same (tests/core/test_facts_made.py holds it to
    that; should `Fact` stop being frozen, ``Fact(**fields)`` is as cheap and this can go)."""
    fact = object.__new__(Fact)
    fact.__dict__.update(fields)
    return fact


def build_facts(analysis: Analysis, inventory: Inventory) -> list[Fact]:
    """Every fact of the analysis, numbered F1… by importance (ties keep the order added here)."""
    facts = _Facts()
    _request_facts(facts, analysis)
    groups = _Columns(analysis.groups)  # (read by the next steps)
    _best_configuration_fact(facts, analysis, groups)
    cold_ttft = _cold_ttft(analysis.requests)
    for m in analysis.models:
        _model_facts(facts, m, cold_ttft)
    _configuration_facts(facts, groups)
    for c in analysis.comparisons:
        _comparison_fact(facts, c)
    _claim_facts(facts, analysis.claim_checks)
    _ranking_facts(facts, analysis.rankings)
    _tool_failure_facts(facts, analysis.aggregates)
    _aggregate_facts(facts, analysis.aggregates)
    _generic_facts(facts, analysis.generic)
    _inventory_facts(facts, inventory)
    return facts.numbered()


# --- requests and failures over the whole archive ---------------------------------------------
def _request_facts(facts: _Facts, analysis: Analysis) -> None:
    req = analysis.requests
    total, failed, samples = analysis.total, analysis.failed, analysis.samples
    source = req["source"]
    all_sources = sorted(_distinct(source)) if not req.empty else []
    if samples:
        sample = is_text(req["kind"], "sample") if not req.empty else np.empty(0, dtype=bool)
        facts.add(f"{samples:,} benchmark samples (repetitions of a tool's tests, not requests) were recorded.",
                  samples, "samples", sorted(_distinct(source, sample)), importance=96,
                  metric="samples", rows=samples)
    if not total:
        return
    tool = analysis.tool_completed + analysis.tool_failed
    counted = (f" ({tool:,} of them counted by the benchmark tool, without per-request rows)" if tool else "")
    sources = sorted({*all_sources, *_count_sources(analysis)})
    facts.add(f"{total:,} LLM requests were recorded{counted}; {failed:,} failed and are excluded from every "
              f"statistic.", total, "requests", sources, importance=96, metric="requests", rows=total)
    failed_rows = column_array(req, "failed", dtype=bool) & is_text(req["kind"], "request")
    failed_sources = sorted({*_distinct(source, failed_rows), *_count_sources(analysis, failed_only=True)})
    facts.add(f"{failed:,} of {total:,} requests failed ({100 * failed / total:.1f}%).", failed,
              "requests", failed_sources or sources, importance=95, metric="failed_requests", rows=total)


def _count_sources(analysis: Analysis, *, failed_only: bool = False) -> list[str]:
    agg = analysis.aggregates
    if agg.empty:
        return []
    metrics = ("requests_failed",) if failed_only else ("requests_completed", "requests_failed")
    rows = agg.loc[agg["metric"].isin(metrics) & (agg["value"].fillna(0) > 0)]
    return sorted(rows["source"].unique())


# --- per model: throughput, TTFT, cold starts, failures, latency ------------------------------
@dataclass(frozen=True)
class BestConfiguration:
    """The configuration with the highest median generation throughput, against the runner-up."""

    top: pd.Series
    runner_up: pd.Series | None
    separable: bool
    verdict: str  # 'not separable from noise (…)', 'the gap exceeds the noise (…)', …


def best_configuration(analysis: Analysis) -> BestConfiguration | None:
    """The headline's pick: one configuration's figure, never a model-level roll-up."""
    return _best_configuration(analysis, _Columns(analysis.groups))


def _best_configuration(analysis: Analysis, columns: _Columns) -> BestConfiguration | None:
    """`best_configuration`, ``columns`` those of the group frame."""
    picked = _best_pick(analysis, columns)
    if picked is None:
        return None
    top, second, separable, verdict = picked
    groups = analysis.groups
    return BestConfiguration(groups.iloc[top], None if second is None else groups.iloc[second], separable, verdict)


def _best_pick(analysis: Analysis, columns: _Columns) -> tuple[int, int | None, bool, str] | None:
    """`_best_configuration` as the group frame's positions of the top and runner-up rows (None: no
    runner-up), whether they are separable and the verdict; no row made a Series (~25 µs each)."""
    if analysis.groups.empty:
        return None
    ranked = np.flatnonzero(_throughput_rows(columns))
    if not len(ranked):
        return None
    first, *rest = _top_two(columns.array("median")[ranked], columns.objects("model")[ranked],
                            columns.objects("config")[ranked])
    top = int(ranked[first])
    if not rest:
        return top, None, False, "the only configuration"
    second = int(ranked[rest[0]])
    models, configs = columns.objects("model"), columns.objects("config")
    a = group_values(analysis.values, model=str(models[top]), metric="throughput_tok_s", config=str(configs[top]))
    b = group_values(analysis.values, model=str(models[second]), metric="throughput_tok_s",
                     config=str(configs[second]))
    p, method = welch(a, b)
    separable = p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2
    if p is None:
        verdict = f"not separable from noise ({method})"
    elif separable:
        verdict = f"the gap exceeds the noise ({method}, p={p:.2g})"
    else:
        verdict = f"the gap is within the noise ({method}, p={p:.2g})"
    return top, second, separable, verdict


def _top_two(medians: np.ndarray, models: np.ndarray, configs: np.ndarray) -> list[int]:
    """The first two positions (one when there is one) in the order of (-median, model, config,
    position): the highest median first, ties by model, then configuration.

    Only the rows whose median is at least the second highest (counting equal ones) can come first,
    so only those are sorted (a real archive: ~170 candidates, a sort of all ~0.1 ms, of the few
    ~0.03 ms), when that order is a total one: float medians, none NaN, every model and configuration
    a `str`.
    Otherwise all are sorted, as before (the same first two, or the same error)."""
    size = len(medians)
    texts = {*map(type, models.tolist()), *map(type, configs.tolist())} if size > 2 else set()
    if size > 2 and medians.dtype.kind == "f" and not np.isnan(medians).any() and texts <= {str}:
        threshold = np.partition(medians, size - 2)[size - 2]
        chosen: list[int] | range = np.flatnonzero(medians >= threshold).tolist()
    else:
        chosen = range(size)
    keys = zip(medians[chosen].tolist(), models[chosen].tolist(), configs[chosen].tolist(), strict=True)
    return [at for _, at in sorted(((-median, model, config), at) for at, (median, model, config)
                                   in zip(chosen, keys, strict=True))[:2]]


# The group and request frames are small and read many times: their rows are selected on column arrays
# (a boolean mask per condition), and only the one row wanted becomes a Series.
class _Columns:
    """A frame's columns as arrays, each read off the frame once: ``frame[name]`` makes a new Series on
    every call (~15 µs in pandas 3), and the facts read the group frame's dozen columns ~30 times."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._arrays: dict[str, np.ndarray] = {}
        self._objects: dict[str, np.ndarray] = {}

    def array(self, name: str) -> np.ndarray:
        """``frame[name].to_numpy()`` (not to be changed: it may be the frame's own)."""
        if name not in self._arrays:
            self._arrays[name] = column_array(self.frame, name)
        return self._arrays[name]

    def objects(self, name: str) -> np.ndarray:
        """``frame[name].to_numpy(dtype=object)`` (not to be changed)."""
        if name not in self._objects:
            self._objects[name] = column_array(self.frame, name, dtype=object)
        return self._objects[name]

    def rows(self, names: Iterable[str], rows: np.ndarray) -> list[tuple[Any, ...]]:
        """The values of ``names`` at ``rows``, a tuple a row (zipped in C: a dict a row cost ~1 µs)."""
        return list(zip(*(self.array(name)[rows].tolist() for name in names), strict=True))


def _throughput_rows(groups: _Columns) -> np.ndarray:
    """Which groups are generation throughput with successful values (the headline's candidates)."""
    return (groups.objects("metric") == "throughput_tok_s") & (groups.array("n") > 0)


def _texts(frame: pd.DataFrame, column: str, rows: np.ndarray) -> list[Any]:
    """The column's values at ``rows`` (positions or a mask) as Python objects."""
    return _texts_at(frame[column], rows)


def _distinct(column: pd.Series, rows: np.ndarray | None = None) -> set[Any]:
    """The column's distinct values (at ``rows``, a mask, when given) as Python objects; a
    categorical's read off its codes: the request frame has a row per request (~135,000 at 10,000
    files), and an object copy of a column of it was this step's memory peak."""
    values = column.array
    if isinstance(values, pd.Categorical):
        codes = values.codes if rows is None else values.codes[rows]
        if not (codes < 0).any():  # (a missing one: as pandas writes it, below)
            used = np.flatnonzero(np.bincount(codes, minlength=len(values.categories)))
            return set(values.categories.take(used).tolist())
    objects = column.to_numpy(dtype=object)
    return set((objects if rows is None else objects[rows]).tolist())


def _texts_at(column: pd.Series, rows: np.ndarray) -> list[Any]:
    """``column.iloc[rows]`` as Python objects; a categorical's read off its codes, only the texts at
    ``rows`` taken from its categories (request ids have a category per request: ~135,000 at 10,000
    files, and converting the column cost ~80 µs even for the few rows wanted)."""
    values = column.array
    if isinstance(values, pd.Categorical):
        codes = values.codes[rows]
        if not (codes < 0).any():  # (a missing one: as pandas writes it, below)
            return values.categories.take(codes).tolist()
    return column.iloc[rows].to_numpy(dtype=object).tolist()


def _best_configuration_fact(facts: _Facts, analysis: Analysis, groups: _Columns) -> None:
    """The headline: the single configuration with the highest median generation throughput, never a
    model-level roll-up, set against the runner-up configuration with a noise test. (The rows' fields
    are read off ``groups``' columns: the same values a row Series holds, without making one.)"""
    picked = _best_pick(analysis, groups)
    if picked is None:
        return
    top, second, _, verdict = picked
    models, configs, medians, ns = (groups.objects("model"), groups.objects("config"), groups.array("median"),
                                    groups.array("n"))
    model, config = str(models[top]), str(configs[top])
    text = (f"Highest median throughput of a single configuration: {where(model, config)} "
            f"at {stated(medians[top], 'tok/s')} (n={int(ns[top])})")
    if second is not None:
        text += (f"; runner-up {where(str(models[second]), str(configs[second]))} at "
                 f"{stated(medians[second], 'tok/s')} (n={int(ns[second])}): {verdict}")
    caveat = _caveat(str(groups.objects("definition")[top]))
    facts.add(text + caveat + ".", float(medians[top]), "tok/s", str(groups.objects("sources")[top]), importance=94,
              model=model, config=config, metric="throughput_tok_s", rows=int(ns[top]), role="best_throughput")
    _best_configuration_ttft(facts, analysis, groups, model, config)


def _caveat(definition: str) -> str:
    """The definition, when the throughput is not plain output tokens per second of one request."""
    if "chunk" in definition or "not comparable" in definition:
        return f" (throughput as defined there: {definition})"
    return ""


def _best_configuration_ttft(facts: _Facts, analysis: Analysis, columns: _Columns, model: str, config: str) -> None:
    """The headline configuration's own TTFT (warm p50 and p95), for the headline's TTFT callout
    (``columns``: the group frame's)."""
    rows = np.flatnonzero((columns.objects("model") == model) & (columns.objects("metric") == "ttft_ms")
                          & (columns.objects("config") == config) & (columns.array("n") > 0))
    if not len(rows):
        return
    warm_n = columns.array("warm_n")[rows[0]]
    if warm_n != warm_n or not warm_n:
        return
    at = int(rows[0])  # (its fields read off the columns, not a row Series: the same values)
    warm_median, definition, sources = (columns.array("warm_median")[at], columns.objects("definition")[at],
                                        str(columns.objects("sources")[at]))
    here = where(model, config)
    facts.add(f"{here} (the fastest configuration): warm TTFT p50 {stated(warm_median, 'ms')} "
              f"(n={int(warm_n)}, cold starts excluded; {definition}).", float(warm_median), "ms",
              sources, importance=84, model=model, config=config, metric="ttft_ms", rows=int(warm_n))
    req = analysis.requests
    cold = _distinct(req["request_id"], column_array(req, "cold_start", dtype=bool)) if "cold_start" in req else set()
    m = analysis.measurements
    # narrowed a column at a time: one full-length mask, not four and their combinations
    here_rows = np.flatnonzero(is_text(m["model"], model))
    here_rows = here_rows[is_text(m["metric"], "ttft_ms", here_rows)]
    here_rows = here_rows[is_text(m["config"], config, here_rows)]
    here_rows = here_rows[~column_array(m, "failed", dtype=bool)[here_rows]]
    if cold:  # the few rows of this configuration, checked against the cold request ids
        ids = _texts_at(m["request_id"], here_rows)
        here_rows = here_rows[np.asarray([rid not in cold for rid in ids], dtype=bool)]
    warm = column_array(m, "value", dtype="float64")[here_rows]
    if warm.size:
        # (`describe`'s p95 is numpy's to the bit for finite values, ~10 µs against np.percentile's ~30)
        found = describe(warm)["p95"] if np.isfinite(warm).all() else None
        p95 = float(np.percentile(warm, 95)) if found is None else float(found)
        facts.add(f"{here} (the fastest configuration): warm TTFT p95 {stated(p95, 'ms')} (n={warm.size}).", p95, "ms",
                  sources, importance=79, model=model, config=config, metric="ttft_p95_ms", rows=int(warm.size))


def where(model: str, config: str) -> str:
    """'model [config]', or the model alone when it has one configuration."""
    return f"{model} [{config}]" if config else model


def _model_facts(facts: _Facts, m: ModelStats, cold_ttft: dict[str, list[float]]) -> None:
    _throughput_fact(facts, m)
    _ttft_facts(facts, m)
    _cold_start_fact(facts, m, cold_ttft)
    _model_failure_fact(facts, m)
    _latency_fact(facts, m)


def _throughput_fact(facts: _Facts, m: ModelStats) -> None:
    t = m.throughput_tok_s
    if t["median"] is None:
        return
    rollup = m.rollup("throughput_tok_s")
    what = "samples" if m.samples and m.samples == m.requests else "requests"
    if rollup.pooled:
        text = (f"{m.model}: roll-up {rollup.words()} (not one configuration's figure): median throughput "
                f"{stated(t['median'], 'tok/s')} over {t['n']} successful {what}")
    else:
        text = f"{m.model}: median throughput {stated(t['median'], 'tok/s')} over {t['n']} successful {what}"
    facts.add(f"{text} (p95 {stated(t['p95'], 'tok/s')}, min {stated(t['min'], 'tok/s')}, "
              f"max {stated(t['max'], 'tok/s')}).", t["median"], "tok/s", m.sources,
              importance=70 if rollup.pooled else 90, model=m.model, metric="throughput_tok_s", rows=t["n"])


def _ttft_facts(facts: _Facts, m: ModelStats) -> None:
    w = m.ttft_warm_ms
    if w["median"] is None:
        return
    if len(m.ttft_definitions) == 1:
        meaning = f"TTFT = {m.ttft_definitions[0]}"
    else:
        meaning = ("files define TTFT differently (" + "; ".join(m.ttft_definitions)
                   + "): compare with care")
    rollup = m.rollup("ttft_ms")
    prefix = f"{m.model}: roll-up {rollup.words()}:" if rollup.pooled else f"{m.model}:"
    facts.add(f"{prefix} warm TTFT p50 {stated(w['median'], 'ms')} (n={w['n']}, cold starts excluded; "
              f"{meaning}).", w["median"], "ms", m.sources,
              importance=76 if rollup.pooled else 85, model=m.model, metric="ttft_ms", rows=w["n"])
    facts.add(f"{prefix} warm TTFT p95 {stated(w['p95'], 'ms')} (n={w['n']}).", w["p95"], "ms",
              m.sources, importance=71 if rollup.pooled else 80, model=m.model, metric="ttft_p95_ms", rows=w["n"])


def _cold_ttft(req: pd.DataFrame) -> dict[str, list[float]]:
    """model -> the TTFT of its cold starts."""
    if req.empty:
        return {}
    cold = column_array(req, "cold_start", dtype=bool)
    out: dict[str, list[float]] = {}
    for model, ttft in zip(_texts(req, "model", cold), column_array(req, "ttft_ms")[cold].tolist(), strict=True):
        out.setdefault(model, []).append(ttft)
    return out


def _cold_start_fact(facts: _Facts, m: ModelStats, cold_ttft: dict[str, list[float]]) -> None:
    if not m.cold_starts or m.ttft_ms["max"] is None:
        return
    ttft = np.asarray(cold_ttft.get(m.model, []), dtype="float64")
    ttft = ttft[~np.isnan(ttft)]
    # (`median`: np.median's bits from one sort, ~3 µs against ~25; a real archive has ~6 such models)
    middle = median(ttft) if ttft.size else float("nan")
    facts.add(f"{m.model}: {m.cold_starts} cold start(s) (model load dominating TTFT); their median "
              f"TTFT is {stated(middle, 'ms')}.", m.cold_starts, "requests", m.sources,
              importance=70, model=m.model, metric="cold_starts", rows=m.n)


def _model_failure_fact(facts: _Facts, m: ModelStats) -> None:
    if not m.failed:
        return
    reason, count = next(iter(m.failure_reasons.items()))
    facts.add(f"{m.model}: {m.failed} of {m.requests} requests failed; most common reason "
              f"({count}x): {quoted(reason, limit=100)}", m.failed, "requests", m.sources,
              importance=75,
              model=m.model, metric="failed_requests", rows=m.requests)


def _latency_fact(facts: _Facts, m: ModelStats) -> None:
    lat = m.latency_ms
    if lat["median"] is None:
        return
    definition = f" ({m.latency_definition})" if m.latency_definition else ""
    rollup = m.rollup("latency_ms")
    prefix = f"{m.model}: roll-up {rollup.words()}:" if rollup.pooled else f"{m.model}:"
    facts.add(f"{prefix} latency p50 {stated(lat['median'], 'ms')}, p95 {stated(lat['p95'], 'ms')}"
              f"{definition}.", lat["median"], "ms", m.sources, importance=55, model=m.model,
              metric="latency_ms", rows=lat["n"])


# --- configuration comparisons ----------------------------------------------------------------
def _comparison_fact(facts: _Facts, c: ConfigComparison) -> None:
    gap = c.best_median - c.worst_median
    pct = 100 * gap / c.worst_median if c.worst_median else 0.0
    label = METRICS[c.metric].label.lower() if c.metric in METRICS else c.metric
    facts.add(f"{c.model}: {label} across its {c.configurations} configurations, best [{c.best}] "
              f"({stated(c.best_median, 'tok/s')}, n={c.n_best}) vs worst [{c.worst}] "
              f"({stated(c.worst_median, 'tok/s')}, n={c.n_worst}): {stated(gap, 'tok/s')} "
              f"({pct:.1f}%), {_noise_verdict(c)}.", gap, "tok/s", c.sources,
              importance=72 if c.metric == "throughput_tok_s" else 62, model=c.model,
              config=c.best, metric="throughput_gap" if c.metric == "throughput_tok_s" else f"{c.metric}_gap",
              rows=c.n_best + c.n_worst)


# --- one fact per configuration ---------------------------------------------------------------
_CONFIG_METRICS = {"throughput_tok_s": 60, "prompt_throughput_tok_s": 56, "combined_throughput_tok_s": 54,
                   "ttft_ms": 52, "latency_ms": 50}


def _configuration_facts(facts: _Facts, frame: pd.DataFrame | _Columns) -> None:
    """Each configuration's own median (the fastest few per model and metric; all are in the JSON).
    Only for models with more than one configuration: otherwise the model's figure is it. ``frame``: the
    group frame, or its `_Columns`."""
    groups = frame if isinstance(frame, _Columns) else _Columns(frame)
    if groups.frame.empty:
        return
    scope = np.flatnonzero(np.isin(groups.objects("metric"), list(_CONFIG_METRICS)) & (groups.array("n") > 0))
    # grouped and ranked on three columns; a record is made only of the rows that become facts
    models, metrics, configs = (groups.objects(name)[scope].tolist() for name in ("model", "metric", "config"))
    medians = groups.array("median")[scope].tolist()
    by_key: dict[tuple[str, str], list[int]] = {}
    for at, (model, metric) in enumerate(zip(models, metrics, strict=True)):
        by_key.setdefault((str(model), str(metric)), []).append(at)
    chosen: list[tuple[str, str, int, int]] = []  # model, metric, configurations, position in scope
    for (model, metric), ats in sorted(by_key.items()):
        if len({configs[at] for at in ats}) < 2:
            continue
        sign = -1.0 if METRICS[metric].higher_is_better else 1.0
        ranked = sorted(ats, key=lambda at: (sign * medians[at], configs[at]))[:MAX_CONFIG_FACTS]
        chosen += [(model, metric, len(ats), at) for at in ranked]
    rows = groups.rows(("config", "kind", "median", "min", "max", "n", "sources"), scope[[at for *_, at in chosen]])
    for (model, metric, count, _), row in zip(chosen, rows, strict=True):
        _configuration_fact(facts, row, model, metric, count)


def _configuration_fact(facts: _Facts, row: tuple[Any, ...], model: str, metric: str, count: int) -> None:
    """``row``: the group's (config, kind, median, min, max, n, sources)."""
    config, kind, median, low, high, n, sources = row
    unit = METRICS[metric].unit
    label = METRICS[metric].label.lower() if metric != "ttft_ms" else "TTFT"
    what = "samples" if kind == "sample" else "requests"
    median = float(median)
    spread = f", min {stated(low, unit)}, max {stated(high, unit)}" if n > 1 else ""
    facts.add(f"{model} [{config}] (one of {count} configurations): median {label} "
              f"{stated(median, unit)} over {n} successful {what}{spread}.", median, unit,
              str(sources), importance=_CONFIG_METRICS[metric], model=model,
              config=str(config), metric=metric, rows=int(n))


def _noise_verdict(c: ConfigComparison) -> str:
    if c.p_value is None:
        return f"not separable from noise ({c.method})"
    if c.significant:
        return f"exceeds the noise ({c.method}, p={c.p_value:.2g})"
    return f"within the noise ({c.method}, p={c.p_value:.2g})"


# --- the archive's own claims -----------------------------------------------------------------
def _claim_facts(facts: _Facts, checks: list[ClaimCheck]) -> None:
    mismatches = [c for c in checks if c.status == "mismatch"]
    for check in mismatches:
        _mismatch_fact(facts, check)
    if checks:
        matched = len(checks) - len(mismatches)
        facts.add(f"{len(checks)} numbers stated in the archive's own summaries were checked "
                  f"against raw rows: {matched} match, {len(mismatches)} "
                  f"{'does' if len(mismatches) == 1 else 'do'} not.", len(mismatches), "count",
                  sorted({c.source for c in checks}), importance=74, metric="claim_mismatches")


def _mismatch_fact(facts: _Facts, check: ClaimCheck) -> None:
    what = f"{check.statistic} {check.metric}" + (f" for {check.model}" if check.model else "") + (
        f" [{check.config}]" if check.config else "")
    why = f" — {check.explanation}" if check.explanation else ""
    facts.add(f"Claim in {quoted(check.source)} does not match the raw data: {what} stated as "
              f"{stated(check.claimed, check.unit)}, raw rows give {stated(check.actual, check.unit)} "
              f"(n={check.n}, {quoted(', '.join(check.raw_sources), limit=200)}){why}.",
              check.actual, check.unit,
              (check.source, *check.raw_sources), importance=65, model=check.model,
              config=check.config, metric=check.metric, rows=check.n, origin="claim")


def _ranking_facts(facts: _Facts, checks: list[RankingCheck]) -> None:
    """Each ranking the archive states ("best configuration", "fastest model", "N% faster"), checked."""
    for check in checks:
        if check.status == "unverifiable" or check.actual_value is None:
            continue
        facts.add(f"Ranking claim {quoted(check.text, limit=160)}: {check.verdict}", check.actual_value, check.unit,
                  check.sources, importance=73 if check.status != "consistent" else 50, model=check.model,
                  metric="ranking_claim", rows=check.n_claimed + check.n_best)


def _tool_failure_facts(facts: _Facts, aggregates: pd.DataFrame) -> None:
    """Runs a tool reports failures for without per-request rows (vLLM ``failed``, a sweep's failed run)."""
    if aggregates.empty:
        return
    failed = aggregates.loc[aggregates["metric"] == "requests_failed"]
    for row in failed.itertuples(index=False):
        place = where(str(row.model), str(row.config))
        if row.value == row.value and row.value > 0:
            total = row.n if row.n == row.n else None
            of = f" of {int(total)}" if total else ""
            facts.add(f"{place}: {quoted(row.source)} reports {int(row.value)}{of} requests failed (the tool saved no "
                      f"per-request rows); its statistics leave them out.", float(row.value), "requests",
                      [str(row.source)], importance=75, model=str(row.model), config=str(row.config),
                      metric="failed_requests", rows=int(total) if total else None)
        elif row.failed:
            facts.add(f"{place}: a benchmark run did not complete ({quoted(row.error, limit=100)}), "
                      f"{quoted(row.source)}.", 1.0, "runs", [str(row.source)], importance=75,
                      model=str(row.model), config=str(row.config), metric="failed_runs")


# --- tool-reported aggregates and non-LLM timings ---------------------------------------------
_AGGREGATE_IMPORTANCE = {"throughput_tok_s": 58, "ttft_ms": 57, "latency_ms": 56, "total_throughput_tok_s": 56,
                         "output_throughput_tok_s": 56, "request_throughput_req_s": 55}


def _aggregate_facts(facts: _Facts, aggregates: pd.DataFrame) -> None:
    """One fact per tool-reported figure: (model, configuration, metric, statistic), with the tool's n.
    Never a median across figures, and never counted as requests."""
    if aggregates.empty:
        return
    counts = {"requests_completed", "requests_failed"}
    # The rows are grouped by position first and only the first MAX_AGGREGATE_FACTS of each group are read
    # as records: a large archive has tens of thousands of aggregate rows, and a record (and namespace) of
    # each was the analysis' memory peak (~1 KB a row) for a few hundred facts.
    by_model_metric: dict[tuple[str, str], list[int]] = {}  # rows in file order
    for at, (model, metric) in enumerate(zip(column_list(aggregates, "model"), column_list(aggregates, "metric"),
                                             strict=True)):
        if metric not in counts and _present(model) and _present(metric):
            kept = by_model_metric.setdefault((model, metric), [])
            if len(kept) < MAX_AGGREGATE_FACTS:
                kept.append(at)
    keys = sorted(by_model_metric)  # as groupby(["model", "metric"]) orders them
    chosen = np.asarray([at for key in keys for at in by_model_metric[key]], dtype=np.int64)
    rows = iter(records(aggregates, _AGGREGATE_FIELDS, chosen))
    for model, metric in keys:
        for _ in by_model_metric[model, metric]:
            _aggregate_fact(facts, SimpleNamespace(**next(rows)), str(model), str(metric))


_AGGREGATE_FIELDS = ("model", "metric", "value", "config", "n", "unit", "failed", "error", "statistic", "definition",
                     "source")


def _present(key: Any) -> bool:
    """A group key pandas keeps (it leaves out missing ones)."""
    return key is not None and key == key


def _aggregate_fact(facts: _Facts, row: Any, model: str, metric: str) -> None:
    value = float(row.value)
    if value != value:  # NaN: a run that did not complete (its failure is its own fact)
        return
    config = str(row.config)
    n = row.n
    n_text = f", n={int(n)}" if n == n else ", n not recorded"
    unit = str(row.unit)
    failed = bool(row.failed)
    status = f" — not a value: {row.error}" if failed else ""
    facts.add(f"{where(model, config)}: tool-reported {row.statistic or 'value'} of "
              f"{METRICS[metric].label.lower() if metric in METRICS else metric} {stated(value, unit)} "
              f"({row.definition}{n_text}){status}.", value, unit, [str(row.source)],
              importance=_AGGREGATE_IMPORTANCE.get(metric, 48) - (20 if failed else 0), model=model, config=config,
              metric=metric, rows=int(n) if n == n else None)


def _generic_facts(facts: _Facts, generic: pd.DataFrame) -> None:
    if generic.empty:
        return
    # (source, config, value, definition) of each row that counts, picked on the columns first and
    # zipped from the chosen rows' columns: a dict per row was ~40% of this step (~400 rows, real archive)
    by_source: dict[str, list[tuple[Any, ...]]] = {}
    chosen = np.asarray([at for at, (metric, definition, failed) in enumerate(zip(
        *(column_list(generic, name) for name in ("metric", "definition", "failed")), strict=True))
        if metric == "time_ms" and str(definition).startswith("mean") and not failed], dtype=np.int64)
    for row in zip(*(column_array(generic, name)[chosen].tolist() for name in ("source", "config", "value",
                                                                             "definition")), strict=True):
        by_source.setdefault(row[0], []).append(row)
    for source, rows in sorted(by_source.items()):
        if len({config for _, config, _, _ in rows}) < 2:
            continue
        _, config, value, definition = min(rows, key=itemgetter(2))  # (the first of equal values, as before)
        facts.add(f"{quoted(source)}: fastest case {config} at {stated(value, 'ms')} mean "
                  f"({definition}).", float(value), "ms", [source], importance=30,
                  config=str(config), metric="time_ms", rows=len(rows))


def records(frame: pd.DataFrame, columns: Iterable[str], rows: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The frame's rows (those at ``rows``, or all) as dicts of ``columns``, read column by column (no
    per-row pandas access, no frame of the selected rows)."""
    names = list(columns)
    lists = [column_list(frame, c) if rows is None else column_array(frame, c)[rows].tolist() for c in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*lists, strict=True)]


# --- what became of the archive's files -------------------------------------------------------
def _inventory_facts(facts: _Facts, inventory: Inventory) -> None:
    if inventory.skipped:
        facts.add(f"{len(inventory.skipped)} of {inventory.files_total} files were skipped (reasons listed in "
                  f"the report).", len(inventory.skipped), "files", [s.path for s in inventory.skipped],
                  importance=40, metric="skipped_files")
    if inventory.duplicates:
        facts.add(f"{len(inventory.duplicates)} files duplicate another file's content or records and were "
                  f"counted once.", len(inventory.duplicates), "files", [d[1] for d in inventory.duplicates],
                  importance=38, metric="duplicate_files")
