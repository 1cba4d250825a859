"""Model-level figures: each model's requests and samples rolled up over its configurations.

One pass over the request frame: the rows of each model are found once (their positions), and
every figure is computed with numpy on those positions; no per-model DataFrame is built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from bot.core.analysis.requests import RequestCodes, coded, describe, is_text, text_column
from bot.core.analysis.results import ModelStats, RollUp
from bot.core.codes import column_array, column_values, combine, sorted_codes
from bot.core.dimensions import DimensionTable

ROLLUP_METRICS = ("throughput_tok_s", "prompt_throughput_tok_s", "ttft_ms", "latency_ms")


def model_stats(requests: pd.DataFrame, measurements: pd.DataFrame, groups: pd.DataFrame,
                dimensions: DimensionTable, codes: RequestCodes | None = None) -> list[ModelStats]:
    """One `ModelStats` per model of the request frame, models sorted by name. ``codes``: the request
    frame's `RequestCodes`, when known (else its models are factorized)."""
    if requests.empty:
        return []
    ttft_definitions = _ttft_definitions(measurements)
    counts = _configurations_with_values(groups, ROLLUP_METRICS)  # (`_rollups` reads no other metric)
    columns = _Columns(requests)
    model_codes, names = codes.model if codes is not None else sorted_codes(requests["model"])  # in name order
    order = np.argsort(model_codes, kind="stable")
    bounds = np.searchsorted(model_codes[order], np.arange(len(names) + 1))
    return [columns.stats(model, order[bounds[code]:bounds[code + 1]], ttft_definitions.get(model, ()),
                          _rollups(model, dimensions, counts))
            for code, model in enumerate(names) if bounds[code + 1] > bounds[code]]


class _Columns:
    """The request frame's columns as arrays."""

    def __init__(self, requests: pd.DataFrame) -> None:
        self.failed = column_array(requests, "failed", dtype=bool)
        self.cold = column_array(requests, "cold_start", dtype=bool)
        self.error = column_array(requests, "error", dtype=object)
        self.source = column_array(requests, "source", dtype=object)
        self.sample = is_text(text_column(requests, "kind"), "sample")
        self.latency_definition = column_array(requests, "latency_definition", dtype=object)
        self.metrics = {name: column_array(requests, name, dtype="float64")
                        for name in ("throughput_tok_s", "ttft_ms", "latency_ms")}

    def stats(self, model: str, rows: np.ndarray, ttft_definitions: tuple[str, ...],
              rollups: dict[str, RollUp]) -> ModelStats:
        failed = self.failed[rows]
        ok = rows[~failed]
        warm = ok[~self.cold[ok]]
        latency = self.metrics["latency_ms"]
        latency_defs = sorted(set(self.latency_definition[ok[~np.isnan(latency[ok])]].tolist()) - {""})
        reasons: Counter[str] = Counter()
        for error, count in Counter(self.error[rows[failed]].tolist()).items():  # each distinct error once
            reasons[_reason(error)] += count
        return ModelStats(
            model=model,
            requests=len(rows),
            n=len(ok),
            failed=int(failed.sum()),
            cold_starts=int(self.cold[ok].sum()),
            throughput_tok_s=describe(self.metrics["throughput_tok_s"][ok]),
            ttft_ms=describe(self.metrics["ttft_ms"][ok]),
            ttft_warm_ms=describe(self.metrics["ttft_ms"][warm]),
            latency_ms=describe(latency[ok]),
            latency_definition="; ".join(latency_defs),
            ttft_definitions=ttft_definitions,
            failure_reasons=dict(reasons.most_common()),
            sources=tuple(sorted(set(self.source[rows].tolist()))),
            samples=int(self.sample[rows].sum()),
            rollups=rollups,
        )


def _reason(error: str) -> str:
    text = " ".join(str(error).split())
    return text[:160] or "unknown"


def _ttft_definitions(measurements: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """model -> the TTFT definitions of its successful requests (sorted, '' left out)."""
    m = measurements
    metric, kind = coded(column_values(m, "metric")), coded(column_values(m, "kind"))
    wanted = ((metric.codes == _code(metric, "ttft_ms")) & (kind.codes == _code(kind, "request"))
              & ~column_array(m, "failed", dtype=bool))
    rows = np.flatnonzero(wanted)
    models, definitions = coded(column_values(m, "model")), coded(column_values(m, "definition"))
    _, first = combine(models.codes[rows], definitions.codes[rows])
    found: dict[str, set[str]] = {}
    names, texts = models.categories.tolist(), definitions.categories.tolist()
    for row in rows[first].tolist():
        found.setdefault(names[models.codes[row]], set()).add(texts[definitions.codes[row]])
    return {model: tuple(sorted(defs - {""})) for model, defs in sorted(found.items())}


def _code(values: pd.Categorical, text: str) -> int:
    """The code of ``text`` (-1, the code of a missing value, when it is no category)."""
    try:
        return int(values.categories.get_loc(text))
    except KeyError:
        return -1


def _configurations_with_values(groups: pd.DataFrame, metrics: Collection[str] | None = None,
                                ) -> dict[tuple[str, str], int]:
    """(model, metric) -> how many configurations hold at least one successful value; of ``metrics``
    only, when given (the other groups are not read: the distinct triples of ~1,000 groups took ~0.2
    ms, and a model's roll-ups read 4 of the real archive's 9 metrics)."""
    if groups.empty:
        return {}
    with_values = column_array(groups, "n") > 0
    if metrics is not None:
        names = column_array(groups, "metric", dtype=object)
        if infer_dtype(names, skipna=False) in ("string", "empty"):  # texts: compared in C, a metric at a time
            of_metrics = np.zeros(len(names), dtype=bool)
            for metric in set(metrics):
                of_metrics |= names == metric
        else:  # (a metric as the result names it: its text)
            wanted = set(metrics)
            of_metrics = np.fromiter((str(name) in wanted for name in names.tolist()), dtype=bool, count=len(names))
        with_values &= of_metrics
    columns = [column_array(groups, name, dtype=object)[with_values] for name in ("model", "metric", "config")]
    distinct = set(zip(*(column.tolist() for column in columns), strict=True))
    if any(infer_dtype(column, skipna=False) not in ("string", "empty") for column in columns):  # (texts: as they are)
        distinct = {(str(a), str(b), str(c)) for a, b, c in distinct}
    # (counted off the triples as they come: ``zip(*distinct)`` of ~1,000 triples took ~0.25 ms)
    return dict(Counter((model, metric) for model, metric, _ in distinct))


def _rollups(model: str, dimensions: DimensionTable, counts: dict[tuple[str, str], int]) -> dict[str, RollUp]:
    """What a model-level figure spans, per metric: how many configurations (with values), differing in what."""
    out: dict[str, RollUp] = {}
    for metric in ROLLUP_METRICS:
        dims = dimensions.get((model, metric))
        if dims is not None and (model, metric) in counts:
            out[metric] = RollUp(configurations=counts[(model, metric)], varying=dims.varying, key=dims.key)
    return out
