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
from bot.core.analysis.requests import welch
from bot.core.analysis.results import ConfigComparison
from bot.core.codes import categorical, combine, ranked
from bot.core.dimensions import config_values

SIGNIFICANCE = 0.05
TABLE_COLUMNS = ["model", "config", "n", "failed", "throughput_median", "throughput_mean", "throughput_std",
                 "prompt_throughput_median", "ttft_warm_median_ms", "sources", "values"]
_FIGURES = ("throughput_median", "throughput_mean", "throughput_std", "prompt_throughput_median",
            "ttft_warm_median_ms")


def config_table(requests: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, configuration) of requests and samples: throughput, prompt processing and
    warm TTFT of exactly that configuration. Models with a single configuration are left out (their
    model-level figures are that configuration's)."""
    if requests.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    models, configs = categorical(requests["model"]), categorical(requests["config"])
    pair, first = combine(models.codes, configs.codes)
    per_model = np.bincount(models.codes[first], minlength=len(models.categories))
    empty = configs.categories.get_indexer([""])[0]
    scope = np.flatnonzero((per_model[models.codes] > 1) | (configs.codes != empty))
    if not len(scope):
        return pd.DataFrame(columns=TABLE_COLUMNS)
    label = ranked(pair, first, models.codes[first], configs.codes[first])
    out = _table(requests, scope, label[scope])
    first_of = dict(zip(label[first].tolist(), first.tolist(), strict=True))
    rows = np.asarray([first_of[key] for key in out.index.tolist()], dtype=np.int64)
    out.insert(0, "config", np.asarray(configs.categories, dtype=object)[configs.codes[rows]])
    out.insert(0, "model", np.asarray(models.categories, dtype=object)[models.codes[rows]])
    out = out.reset_index(drop=True).astype({"model": "str", "config": "str"})
    for name in _FIGURES:  # Python floats, None where there is none (as the JSON and the report show them)
        out[name] = pd.Series([None if value != value else value for value in out[name].tolist()], dtype="object")
    out["values"] = [config_values(c) for c in out["config"]]
    return out[TABLE_COLUMNS]


def _table(requests: pd.DataFrame, scope: np.ndarray, label: np.ndarray) -> pd.DataFrame:
    """The figures per label of the rows in ``scope``."""
    failed = requests["failed"].to_numpy(dtype=bool)[scope]
    ok, ok_label = scope[~failed], label[~failed]
    sources = requests["source"].to_numpy(dtype=object)[scope]
    out = pd.DataFrame({"sources": _joined_sources(sources, label)})
    out["n"] = pd.Series(ok_label).value_counts().reindex(out.index).fillna(0).astype(int)
    out["failed"] = pd.Series(label[failed]).value_counts().reindex(out.index).fillna(0).astype(int)
    throughput = pd.Series(requests["throughput_tok_s"].to_numpy(dtype="float64")[ok]).groupby(ok_label)
    out["throughput_median"] = throughput.median()
    out["throughput_mean"] = throughput.mean()
    out["throughput_std"] = throughput.std()
    prompt = (requests["prompt_throughput_tok_s"].to_numpy(dtype="float64")[ok]
              if "prompt_throughput_tok_s" in requests else np.full(len(ok), np.nan))
    out["prompt_throughput_median"] = pd.Series(prompt).groupby(ok_label).median()
    warm = ~requests["cold_start"].to_numpy(dtype=bool)[ok]
    ttft = requests["ttft_ms"].to_numpy(dtype="float64")[ok][warm]
    out["ttft_warm_median_ms"] = pd.Series(ttft).groupby(ok_label[warm]).median()
    return out


def _joined_sources(sources: np.ndarray, label: np.ndarray) -> pd.Series:
    found: dict[int, set[str]] = {}
    for key, source in zip(label.tolist(), sources.tolist(), strict=True):
        found.setdefault(key, set()).add(source)
    return pd.Series({key: ", ".join(sorted(found[key])) for key in sorted(found)}, dtype="object")


def comparisons(groups: pd.DataFrame, index: ValueIndex) -> list[ConfigComparison]:
    """Per model and throughput metric: its best configuration against its worst, with a noise test.
    Whole configurations only: a parameter's levels are never pooled over the other dimensions
    (a follow-up question can ask for that, and the answer says it pools)."""
    if groups.empty:
        return []
    ranked_rows = groups.loc[groups["metric"].isin(("throughput_tok_s", "prompt_throughput_tok_s"))
                             & (groups["n"] > 0), ["model", "metric", "config", "median", "sources"]]
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in ranked_rows.to_dict(orient="records"):
        by_pair.setdefault((str(row["model"]), str(row["metric"])), []).append(row)
    out: list[ConfigComparison] = []
    for (model, metric), rows in sorted(by_pair.items()):
        if len({r["config"] for r in rows}) < 2:
            continue
        found = _compare(model, metric, rows, index)
        if found is not None:
            out.append(found)
    return out


def _compare(model: str, metric: str, rows: list[dict[str, Any]], index: ValueIndex) -> ConfigComparison | None:
    ordered = sorted(rows, key=lambda r: (-r["median"], r["config"]))
    best, worst = ordered[0], ordered[-1]
    if best["config"] == worst["config"]:
        return None
    a = group_values(index, model=model, metric=metric, config=str(best["config"]))
    b = group_values(index, model=model, metric=metric, config=str(worst["config"]))
    p, method = welch(a, b)
    return ConfigComparison(
        model=model, parameter="", best=str(best["config"]), worst=str(worst["config"]),
        best_median=float(best["median"]), worst_median=float(worst["median"]),
        n_best=int(a.size), n_worst=int(b.size), p_value=p, method=method,
        significant=p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2,
        sources=tuple(sorted(set(str(best["sources"]).split("; ")) | set(str(worst["sources"]).split("; ")))),
        metric=metric, configurations=len({r["config"] for r in rows}),
    )
