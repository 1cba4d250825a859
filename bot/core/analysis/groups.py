"""Statistics per configuration: one row per (model, metric, configuration, kind), never pooled.

Requests and benchmark samples of one configuration are described together (n, mean, median, p95,
min, max, sample std) over the successful ones; failed ones are counted. For TTFT the warm figures
leave cold starts out. A tool's own aggregates are not re-aggregated: they stay one row each
(`aggregate_rows`), with their statistic and the tool's n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.core.analysis.requests import ROW_KINDS
from bot.core.dimensions import config_values, group_model

GROUP_KEYS = ["model", "metric", "config", "kind"]
GROUP_COLUMNS = [*GROUP_KEYS, "unit", "n", "failed", "mean", "median", "p95", "min", "max", "std", "warm_n",
                 "warm_median", "definition", "sources", "values"]


def with_group_model(measurements: pd.DataFrame) -> pd.DataFrame:
    """The measurements with ``model`` as grouped (unnamed rows apart per source)."""
    if measurements.empty:
        return measurements
    return measurements.assign(model=[group_model(m, s) for m, s in
                                      zip(measurements["model"], measurements["source"], strict=True)])


def config_groups(measurements: pd.DataFrame, cold: pd.Series | None = None) -> pd.DataFrame:
    """Per (model, metric, config, kind) statistics of requests and samples.

    ``measurements`` has grouped model names (`with_group_model`); ``cold`` maps request ids of cold
    starts to True (their TTFT is left out of the warm figures).
    """
    rows = measurements.loc[measurements["kind"].isin(ROW_KINDS)]
    if rows.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    failed = rows["failed"].astype(bool)
    ok = rows.loc[~failed & rows["value"].notna()]
    grouped = ok.groupby(GROUP_KEYS, sort=True)["value"]
    stats = grouped.agg(n="count", mean="mean", median="median", min="min", max="max", std="std")
    stats["p95"] = grouped.quantile(0.95)
    all_keys = rows.drop_duplicates(GROUP_KEYS).set_index(GROUP_KEYS)[["unit"]]
    out = all_keys.join(stats, how="left")
    out["n"] = out["n"].fillna(0).astype(int)
    failures = rows.loc[failed].groupby(GROUP_KEYS)["request_id"].nunique()
    out["failed"] = failures.reindex(out.index).fillna(0).astype(int)
    out = out.join(_warm(ok, cold))
    out["definition"] = _joined(rows, "definition")
    out["sources"] = _joined(rows, "source")
    out = out.reset_index()
    out["values"] = [config_values(c) for c in out["config"]]
    return out[GROUP_COLUMNS]


def _warm(ok: pd.DataFrame, cold: pd.Series | None) -> pd.DataFrame:
    ttft = ok.loc[ok["metric"] == "ttft_ms"]
    if cold is not None and not ttft.empty:
        ttft = ttft.loc[~ttft["request_id"].map(cold).fillna(False).astype(bool)]
    grouped = ttft.groupby(GROUP_KEYS)["value"]
    return pd.DataFrame({"warm_n": grouped.count(), "warm_median": grouped.median()})


def _joined(rows: pd.DataFrame, column: str) -> pd.Series:
    distinct = rows.loc[rows[column].astype(str) != "", [*GROUP_KEYS, column]].drop_duplicates()
    return distinct.groupby(GROUP_KEYS, sort=True)[column].agg(lambda values: "; ".join(sorted(map(str, values))))


ValueIndex = dict[tuple[str, str, str], np.ndarray]


def value_index(measurements: pd.DataFrame) -> ValueIndex:
    """(model, metric, config) -> the successful, finite values of that configuration (made once, for
    the noise tests: selecting them from the whole frame each time costs a full scan)."""
    m = measurements
    if m.empty:
        return {}
    ok = m.loc[m["kind"].isin(ROW_KINDS) & ~m["failed"].astype(bool) & m["value"].notna()]
    values = ok["value"].to_numpy(dtype="float64")
    out: ValueIndex = {}
    for key, positions in ok.groupby(["model", "metric", "config"], sort=False).indices.items():
        part = values[positions]
        out[(str(key[0]), str(key[1]), str(key[2]))] = part[np.isfinite(part)]
    return out


def group_values(index: ValueIndex, *, model: str, metric: str, config: str) -> np.ndarray:
    """The successful values of one configuration (for a noise test)."""
    return index.get((model, metric, config), np.empty(0))


def aggregate_rows(measurements: pd.DataFrame) -> pd.DataFrame:
    """The tools' own aggregates, one row each (with ``values``: the configuration as a mapping)."""
    agg = measurements.loc[measurements["kind"] == "aggregate"].reset_index(drop=True)
    if agg.empty:
        return agg.assign(values=pd.Series(dtype="object"))
    return agg.assign(values=[config_values(c) for c in agg["config"]])
