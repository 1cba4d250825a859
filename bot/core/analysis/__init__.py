"""Analysis: tidy measurements -> statistics, comparisons, claim checks and numbered facts.

Pure pandas; never mutates the caller's frames. Failed requests are counted and reported and never
enter a statistic; cold starts are separated from warm requests for TTFT.

Statistics are per configuration (`groups.config_groups`: one row per model, metric, configuration
and kind); a model-level figure (`ModelStats`) is an explicit roll-up over the model's
configurations and says which dimensions it spans. Comparisons set whole configurations against
each other; nothing is pooled across a dimension that varies.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from bot.core.analysis.claims import ClaimCheck, check_claims
from bot.core.analysis.facts import build_facts
from bot.core.analysis.groups import (
    ValueIndex,
    aggregate_rows,
    config_groups,
    group_values,
    value_index,
    with_group_model,
)
from bot.core.analysis.rankings import check_rankings
from bot.core.analysis.requests import describe, request_frame, welch
from bot.core.analysis.results import Analysis, ConfigComparison, ModelStats, RollUp
from bot.core.codes import as_texts
from bot.core.dimensions import UNNAMED_MODEL, DimensionTable, config_values, dimensions_of
from bot.core.types import IngestResult

__all__ = [
    "SIGNIFICANCE",
    "UNNAMED_MODEL",
    "Analysis",
    "ClaimCheck",
    "ConfigComparison",
    "ModelStats",
    "analyze",
]

SIGNIFICANCE = 0.05
ROLLUP_METRICS = ("throughput_tok_s", "prompt_throughput_tok_s", "ttft_ms", "latency_ms")


def analyze(ingest: IngestResult) -> Analysis:
    measurements = with_group_model(ingest.measurements)
    dimensions = ingest.dimensions or dimensions_of(ingest.measurements)
    requests = request_frame(ingest.measurements)
    cold = set(requests.loc[requests["cold_start"], "request_id"]) if not requests.empty else set()
    groups = config_groups(measurements, cold)
    ttft_defs = _ttft_definitions(measurements)
    counts = _configurations_with_values(groups)
    models = [_model_stats(model, rows, ttft_defs.get(model, ()), dimensions, counts)
              for model, rows in requests.groupby("model", sort=True)]
    configs = _config_table(requests, dimensions)
    index = value_index(measurements)
    comparisons = _comparisons(groups, index)
    generic = as_texts(measurements.loc[measurements["kind"] == "generic"].reset_index(drop=True))
    aggregates = aggregate_rows(measurements)
    aliases: dict[str, list[str]] = {}
    for kept, duplicate in ingest.inventory.duplicates:
        aliases.setdefault(kept, []).append(duplicate)
    checks, unverifiable = check_claims(ingest.claims, requests, generic, aliases)
    analysis = Analysis(requests=requests, models=models, configs=configs, comparisons=comparisons,
                        generic=generic, aggregates=aggregates, claim_checks=checks,
                        claims_unverifiable=unverifiable, groups=groups, dimensions=dimensions,
                        measurements=measurements, values=index)
    analysis.rankings = check_rankings(ingest.rankings, analysis)
    analysis.facts = build_facts(analysis, ingest.inventory)  # facts read the finished analysis
    return analysis


def _ttft_definitions(measurements: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    ttft = measurements.loc[(measurements["metric"] == "ttft_ms") & (measurements["kind"] == "request")
                            & ~measurements["failed"].astype(bool)]
    out: dict[str, tuple[str, ...]] = {}
    for model, defs in ttft.groupby("model", sort=True)["definition"]:
        out[model] = tuple(sorted(set(defs) - {""}))
    return out


def _configurations_with_values(groups: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(model, metric) -> how many configurations hold at least one successful value."""
    if groups.empty:
        return {}
    with_values = groups.loc[groups["n"] > 0]
    counts = with_values.groupby(["model", "metric"])["config"].nunique()
    return {(str(m), str(k)): int(n) for (m, k), n in counts.items()}


def _rollups(model: str, dimensions: DimensionTable, counts: dict[tuple[str, str], int]) -> dict[str, RollUp]:
    """What a model-level figure spans, per metric: how many configurations (with values), differing in what."""
    out: dict[str, RollUp] = {}
    for metric in ROLLUP_METRICS:
        dims = dimensions.get((model, metric))
        if dims is not None and (model, metric) in counts:
            out[metric] = RollUp(configurations=counts[(model, metric)], varying=dims.varying, key=dims.key)
    return out


def _model_stats(model: str, rows: pd.DataFrame, ttft_definitions: tuple[str, ...],
                 dimensions: DimensionTable, counts: dict[tuple[str, str], int]) -> ModelStats:
    failed = rows["failed"].astype(bool)
    ok = rows.loc[~failed]
    warm = ok.loc[~ok["cold_start"]]
    reasons = Counter(_reason(e) for e in rows.loc[failed, "error"])
    latency_defs = sorted(set(ok.loc[ok["latency_ms"].notna(), "latency_definition"]) - {""})
    return ModelStats(
        model=model,
        requests=len(rows),
        n=len(ok),
        failed=int(failed.sum()),
        cold_starts=int(ok["cold_start"].sum()),
        throughput_tok_s=describe(ok["throughput_tok_s"]),
        ttft_ms=describe(ok["ttft_ms"]),
        ttft_warm_ms=describe(warm["ttft_ms"]),
        latency_ms=describe(ok["latency_ms"]),
        latency_definition="; ".join(latency_defs),
        ttft_definitions=ttft_definitions,
        failure_reasons=dict(reasons.most_common()),
        sources=tuple(sorted(rows["source"].unique())),
        samples=int((rows["kind"] == "sample").sum()),
        rollups=_rollups(model, dimensions, counts),
    )


def _reason(error: str) -> str:
    text = " ".join(str(error).split())
    return text[:160] or "unknown"


def _config_table(requests: pd.DataFrame, dimensions: DimensionTable) -> pd.DataFrame:
    """One row per (model, configuration) of requests and samples: throughput, prompt processing and
    warm TTFT of exactly that configuration. Models with a single configuration are left out (their
    model-level figures are that configuration's)."""
    columns = ["model", "config", "n", "failed", "throughput_median", "throughput_mean", "throughput_std",
               "prompt_throughput_median", "ttft_warm_median_ms", "sources", "values"]
    if requests.empty:
        return pd.DataFrame(columns=columns)
    several = requests.groupby("model")["config"].transform("nunique") > 1
    scope = requests.loc[several | (requests["config"] != "")]
    if scope.empty:
        return pd.DataFrame(columns=columns)
    keys = ["model", "config"]
    failed = scope["failed"].astype(bool)
    ok = scope.loc[~failed]
    out = scope.groupby(keys, sort=True).agg(sources=("source", lambda s: ", ".join(sorted(set(s)))))
    out["n"] = ok.groupby(keys).size().reindex(out.index).fillna(0).astype(int)
    out["failed"] = scope.loc[failed].groupby(keys).size().reindex(out.index).fillna(0).astype(int)
    tput = ok.groupby(keys)["throughput_tok_s"]
    out["throughput_median"] = tput.median()
    out["throughput_mean"] = tput.mean()
    out["throughput_std"] = tput.std()
    prompt = ok["prompt_throughput_tok_s"] if "prompt_throughput_tok_s" in ok else pd.Series(np.nan, index=ok.index)
    out["prompt_throughput_median"] = prompt.groupby([ok["model"], ok["config"]]).median()
    warm = ok.loc[~ok["cold_start"].astype(bool)]
    out["ttft_warm_median_ms"] = warm.groupby(keys)["ttft_ms"].median()
    out = out.reset_index()
    out = out.astype({c: "object" for c in ("throughput_median", "throughput_mean", "throughput_std",
                                            "prompt_throughput_median", "ttft_warm_median_ms")})
    out = out.where(out.notna(), None)
    out["values"] = [config_values(c) for c in out["config"]]
    return out[columns]


def _comparisons(groups: pd.DataFrame, index: ValueIndex) -> list[ConfigComparison]:
    """Per model and throughput metric: its best configuration against its worst, with a noise test.
    Whole configurations only: a parameter's levels are never pooled over the other dimensions
    (a follow-up question can ask for that, and the answer says it pools)."""
    out: list[ConfigComparison] = []
    if groups.empty:
        return out
    ranked = groups.loc[groups["metric"].isin(("throughput_tok_s", "prompt_throughput_tok_s"))
                        & (groups["n"] > 0)]
    for (model, metric), rows in ranked.groupby(["model", "metric"], sort=True):
        if rows["config"].nunique() < 2:
            continue
        cmp = _compare(str(model), str(metric), rows, index)
        if cmp is not None:
            out.append(cmp)
    return out


def _compare(model: str, metric: str, rows: pd.DataFrame, index: ValueIndex) -> ConfigComparison | None:
    ordered = rows.sort_values(["median", "config"], ascending=[False, True])
    best, worst = ordered.iloc[0], ordered.iloc[-1]
    if best["config"] == worst["config"]:
        return None
    a = group_values(index, model=model, metric=metric, config=str(best["config"]))
    b = group_values(index, model=model, metric=metric, config=str(worst["config"]))
    p, method = welch(pd.Series(a), pd.Series(b))
    return ConfigComparison(
        model=model, parameter="", best=str(best["config"]), worst=str(worst["config"]),
        best_median=float(best["median"]), worst_median=float(worst["median"]),
        n_best=int(a.size), n_worst=int(b.size), p_value=p, method=method,
        significant=p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2,
        sources=tuple(sorted(set(str(best["sources"]).split("; ")) | set(str(worst["sources"]).split("; ")))),
        metric=metric, configurations=int(rows["config"].nunique()),
    )
