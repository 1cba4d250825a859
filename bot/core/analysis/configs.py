"""Per-configuration views of the requests: the configuration table and best-vs-worst comparisons.

Rows are grouped once by (model, configuration) on the columns' codes; each figure is one groupby
over that label (the sorted rank of the pair, as grouping by the texts numbered it: pandas' sums
depend on the labels, `bot.core.codes.ranked`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.groups import ValueIndex, group_values
from bot.core.analysis.requests import TEXT, RequestCodes, distinct, narrowest, order_statistics, welch
from bot.core.analysis.results import ConfigComparison
from bot.core.codes import column_array, combine, narrowed, ranked, sorted_codes
from bot.core.dimensions import config_values

SIGNIFICANCE = 0.05
TABLE_COLUMNS = ["model", "config", "n", "failed", "throughput_median", "throughput_mean", "throughput_std",
                 "prompt_throughput_median", "ttft_warm_median_ms", "sources", "values"]
_FIGURES = ("throughput_median", "throughput_mean", "throughput_std", "prompt_throughput_median",
            "ttft_warm_median_ms")


def config_table(requests: pd.DataFrame, codes: RequestCodes | None = None) -> pd.DataFrame:
    """One row per (model, configuration) of requests and samples: throughput, prompt processing and
    warm TTFT of exactly that configuration. Models with a single configuration are left out (their
    model-level figures are that configuration's). ``codes``: the request frame's `RequestCodes`,
    when known (else its texts are factorized)."""
    if requests.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    model_codes, model_texts = codes.model if codes is not None else sorted_codes(requests["model"])
    config_codes, config_texts = (codes.config if codes is not None and codes.config is not None
                                  else sorted_codes(requests["config"]))
    pair, first = combine(model_codes, config_codes)
    pair = pair.astype(narrowest(len(first)))  # (each request's pair, kept while the figures are made: narrow)
    per_model = np.bincount(model_codes[first], minlength=len(model_texts))
    empty = config_texts.index("") if "" in config_texts else -1
    scope = narrowed(np.flatnonzero((per_model[model_codes] > 1) | (config_codes != empty)), len(requests))
    if not len(scope):
        return pd.DataFrame(columns=TABLE_COLUMNS)
    rank = ranked(np.arange(len(first)), first, model_codes[first], config_codes[first])  # each pair's label
    in_scope = np.zeros(len(first), dtype=bool)
    in_scope[pair[scope]] = True
    present = np.sort(rank[in_scope])  # the table's rows: its pairs in sorted order
    row_of_pair = np.zeros(len(first), dtype=narrowest(len(present)))
    row_of_pair[in_scope] = np.searchsorted(present, rank[in_scope])
    at = np.empty(len(first), dtype=np.int64)
    at[rank] = first  # each label's first request
    rows = at[present]
    configs = np.asarray(config_texts, dtype=object)[config_codes[rows]]
    out: dict[str, Any] = {
        "model": pd.array(np.asarray(model_texts, dtype=object)[model_codes[rows]], dtype=TEXT),
        "config": pd.array(configs, dtype=TEXT),
    }
    out.update(_table(requests, scope, row_of_pair[pair[scope]], len(present),
                      codes.source if codes is not None else None))
    out["values"] = [config_values(text) for text in configs.tolist()]  # each row its own dict
    return pd.DataFrame({name: out[name] for name in TABLE_COLUMNS}, copy=False)  # (the columns are its own)


def _table(requests: pd.DataFrame, scope: np.ndarray, row: np.ndarray, size: int,
           sources: tuple[np.ndarray, list[str]] | None) -> dict[str, Any]:
    """The figures of each table row (``row``: each request's of ``scope``). Medians are read off
    sorted values (`order_statistics`); mean and std are pandas' groupby, whose sums depend on the
    order it adds in (grouped by the same labels as ever: the rows' numbers are sorted like them)."""
    failed = column_array(requests, "failed", dtype=bool)[scope]
    ok, ok_row = scope[~failed], row[~failed]
    out: dict[str, Any] = {"n": np.bincount(ok_row, minlength=size), "failed": np.bincount(row[failed], minlength=size)}
    del failed
    throughput = column_array(requests, "throughput_tok_s", dtype="float64")[ok]
    out["throughput_median"] = _medians(ok_row, throughput, size)
    # Grouped by a categorical of the rows: pandas takes its codes as they are (an array of numbers
    # is hashed first, ~36 bytes a request); the same sums (tests/core/test_codes.py)
    by_row = pd.Categorical.from_codes(ok_row, categories=pd.RangeIndex(size), validate=False)
    grouped = pd.Series(throughput, copy=False).groupby(by_row, observed=False, sort=True)
    out["throughput_mean"] = grouped.mean().to_numpy()
    out["throughput_std"] = grouped.std().to_numpy()
    del grouped, by_row, throughput
    prompt = (column_array(requests, "prompt_throughput_tok_s", dtype="float64")[ok]
              if "prompt_throughput_tok_s" in requests else np.full(len(ok), np.nan))
    out["prompt_throughput_median"] = _medians(ok_row, prompt, size)
    del prompt
    warm = ~column_array(requests, "cold_start", dtype=bool)[ok]
    ttft = column_array(requests, "ttft_ms", dtype="float64")
    out["ttft_warm_median_ms"] = _medians(ok_row[warm], ttft[ok[warm]], size)
    del ok, ok_row, warm, ttft
    for name in _FIGURES:  # Python floats, None where there is none (as the JSON and the report show them)
        out[name] = _objects([None if value != value else value for value in out[name].tolist()])
    if sources is None:
        codes, texts = pd.factorize(column_array(requests, "source", dtype=object)[scope])
        sources = codes, texts.tolist()
    else:
        sources = sources[0][scope], sources[1]
    out["sources"] = pd.Series(_joined_sources(row, *sources, size), dtype="object")
    return out


def _objects(items: list[float | None]) -> np.ndarray:
    """Numbers and None as an object column: an array (a Series of them costs ~30 µs more each). Not
    for texts: the frame would read an object array of texts as a text column (``str``)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _medians(row: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per table row, the median of its values that are not NaN (NaN where none)."""
    known = ~np.isnan(values)
    order = order_statistics(row[known], values[known], size)
    out = np.full(size, np.nan)
    out[order.labels] = order.median
    return out


def _joined_sources(row: np.ndarray, codes: np.ndarray, texts: list[str], size: int) -> list[str]:
    """Per table row, its distinct sources (``texts[code]``), sorted and joined by ', '."""
    # the distinct (row, source) pairs as one number each, found by a table of a byte per pair where
    # that table is small, else by a sort (pandas' hash table is sized for every request: ~36 bytes
    # each, at 10,000 files the top of this step's peak)
    width = max(len(texts), 1)
    pair = row.astype(np.int64)
    pair *= width
    pair += codes
    if size * width <= 8 * len(pair):
        seen = np.zeros(size * width, dtype=bool)
        seen[pair] = True
        del pair
        pairs = np.flatnonzero(seen)
    else:
        pairs = distinct(pair)
    found: list[list[str]] = [[] for _ in range(size)]
    for r, code in zip(*(part.tolist() for part in np.divmod(pairs, width)), strict=True):
        found[r].append(texts[code])
    return [", ".join(sorted(parts)) for parts in found]


def comparisons(groups: pd.DataFrame, index: ValueIndex) -> list[ConfigComparison]:
    """Per model and throughput metric: its best configuration against its worst, with a noise test.
    Whole configurations only: a parameter's levels are never pooled over the other dimensions
    (a follow-up question can ask for that, and the answer says it pools)."""
    if groups.empty:
        return []
    metrics = column_array(groups, "metric", dtype=object)
    wanted = np.flatnonzero(((metrics == "throughput_tok_s") | (metrics == "prompt_throughput_tok_s"))
                            & (column_array(groups, "n") > 0))
    # the rows as tuples (model, metric, config, median, sources: `_Row`), read column by column and
    # zipped in C: a dict per row was ~0.8 µs a row (~170 rows on the real archive: ~0.45 -> ~0.31 ms a call)
    by_pair: dict[tuple[str, str], list[_Row]] = {}
    for row in zip(*(column_array(groups, name)[wanted].tolist() for name in _ROW_FIELDS), strict=True):
        by_pair.setdefault((str(row[0]), str(row[1])), []).append(row)
    out: list[ConfigComparison] = []
    for (model, metric), rows in sorted(by_pair.items()):
        if len({r[_CONFIG] for r in rows}) < 2:
            continue
        found = _compare(model, metric, rows, index)
        if found is not None:
            out.append(found)
    return out


# A group row as `comparisons` reads it: its fields, and the positions of those `_compare` reads
_Row = tuple[Any, ...]
_ROW_FIELDS = ("model", "metric", "config", "median", "sources")
_CONFIG, _MEDIAN, _SOURCES = 2, 3, 4


def _compare(model: str, metric: str, rows: list[_Row], index: ValueIndex) -> ConfigComparison | None:
    ordered = sorted(rows, key=lambda r: (-r[_MEDIAN], r[_CONFIG]))
    best, worst = ordered[0], ordered[-1]
    if best[_CONFIG] == worst[_CONFIG]:
        return None
    a = group_values(index, model=model, metric=metric, config=str(best[_CONFIG]))
    b = group_values(index, model=model, metric=metric, config=str(worst[_CONFIG]))
    p, method = welch(a, b)
    return ConfigComparison(
        model=model, parameter="", best=str(best[_CONFIG]), worst=str(worst[_CONFIG]),
        best_median=float(best[_MEDIAN]), worst_median=float(worst[_MEDIAN]),
        n_best=int(a.size), n_worst=int(b.size), p_value=p, method=method,
        significant=p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2,
        sources=tuple(sorted(set(str(best[_SOURCES]).split("; ")) | set(str(worst[_SOURCES]).split("; ")))),
        metric=metric, configurations=len({r[_CONFIG] for r in rows}),
    )
