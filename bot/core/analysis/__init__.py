"""Analysis: tidy measurements -> statistics, comparisons, claim checks and numbered facts.

Pure pandas; never mutates the caller's frames. Failed requests are counted and reported and never
enter a statistic; cold starts are separated from warm requests for TTFT.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from bot.core.analysis.claims import ClaimCheck, check_claims
from bot.core.analysis.facts import build_facts
from bot.core.analysis.requests import describe, request_frame, welch
from bot.core.analysis.results import Analysis, ConfigComparison, ModelStats
from bot.core.config import Config
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

UNNAMED_MODEL = "(model not stated)"
SIGNIFICANCE = 0.05


def analyze(ingest: IngestResult) -> Analysis:
    measurements = ingest.measurements
    requests = request_frame(measurements)
    if not requests.empty:
        requests = requests.assign(model=requests["model"].replace("", UNNAMED_MODEL))
    ttft_defs = _ttft_definitions(measurements)
    models = [_model_stats(model, rows, ttft_defs.get(model, ()))
              for model, rows in requests.groupby("model", sort=True)]
    configs = _config_table(requests)
    comparisons = _comparisons(requests)
    generic = measurements.loc[measurements["kind"] == "generic"].reset_index(drop=True)
    aggregates = measurements.loc[measurements["kind"] == "aggregate"].reset_index(drop=True)
    aliases: dict[str, list[str]] = {}
    for kept, duplicate in ingest.inventory.duplicates:
        aliases.setdefault(kept, []).append(duplicate)
    checks, unverifiable = check_claims(ingest.claims, requests, generic, aliases)
    analysis = Analysis(requests=requests, models=models, configs=configs, comparisons=comparisons,
                        generic=generic, aggregates=aggregates, claim_checks=checks,
                        claims_unverifiable=unverifiable)
    analysis.facts = build_facts(analysis, ingest.inventory)  # facts read the finished analysis
    return analysis


def _ttft_definitions(measurements: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    ttft = measurements.loc[(measurements["metric"] == "ttft_ms") & (measurements["kind"] == "request")
                            & ~measurements["failed"].astype(bool)]
    out: dict[str, tuple[str, ...]] = {}
    for model, defs in ttft.groupby("model", sort=True)["definition"]:
        out[model or UNNAMED_MODEL] = tuple(sorted(set(defs) - {""}))
    return out


def _model_stats(model: str, rows: pd.DataFrame, ttft_definitions: tuple[str, ...] = ()) -> ModelStats:
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
    )


def _reason(error: str) -> str:
    text = " ".join(str(error).split())
    return text[:160] or "unknown"


def _config_table(requests: pd.DataFrame) -> pd.DataFrame:
    columns = ["model", "config", "n", "failed", "throughput_median", "throughput_mean", "throughput_std",
               "prompt_throughput_median", "ttft_warm_median_ms", "sources"]
    if requests.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (model, config), group in requests.loc[requests["config"] != ""].groupby(["model", "config"], sort=True):
        failed = group["failed"].astype(bool)
        ok = group.loc[~failed]
        tput = describe(ok["throughput_tok_s"])
        prompt = describe(ok["prompt_throughput_tok_s"]) if "prompt_throughput_tok_s" in ok else {"median": None}
        ttft = describe(ok.loc[~ok["cold_start"], "ttft_ms"])
        rows.append({
            "model": model, "config": config, "n": len(ok), "failed": int(failed.sum()),
            "throughput_median": tput["median"], "throughput_mean": tput["mean"],
            "throughput_std": tput["std"], "prompt_throughput_median": prompt["median"],
            "ttft_warm_median_ms": ttft["median"],
            "sources": ", ".join(sorted(group["source"].unique())),
        })
    return pd.DataFrame(rows, columns=columns)


def _comparisons(requests: pd.DataFrame) -> list[ConfigComparison]:
    out: list[ConfigComparison] = []
    if requests.empty:
        return out
    ok = requests.loc[~requests["failed"].astype(bool) & requests["throughput_tok_s"].notna()]
    for model, rows in ok.groupby("model", sort=True):
        configured = rows.loc[rows["config"] != ""]
        whole = _compare(model, "", configured, configured["config"])
        if whole:
            out.append(whole)
        # One parameter at a time, pooling over the others: with one run per full configuration
        # this is the only comparison the data can support.
        params = _parameters(configured["config"])
        for param in sorted(params):
            levels = configured["config"].map(lambda c, p=param: Config.parse(c).get(p))
            has = levels != ""
            if levels[has].nunique() < 2:
                continue
            cmp = _compare(model, param, configured.loc[has], levels[has])
            if cmp:
                out.append(cmp)
    return out


def _parameters(configs: pd.Series) -> set[str]:
    return {key for config in configs.unique() for key in Config.parse(config)}


def _compare(model: str, parameter: str, rows: pd.DataFrame, keys: pd.Series) -> ConfigComparison | None:
    if keys.nunique() < 2:
        return None
    medians = rows["throughput_tok_s"].groupby(keys).median().sort_values(ascending=False)
    best, worst = str(medians.index[0]), str(medians.index[-1])
    a = rows.loc[keys == best, "throughput_tok_s"]
    b = rows.loc[keys == worst, "throughput_tok_s"]
    p, method = welch(a, b)
    return ConfigComparison(
        model=model, parameter=parameter, best=best, worst=worst,
        best_median=float(medians.iloc[0]), worst_median=float(medians.iloc[-1]),
        n_best=int(a.size), n_worst=int(b.size), p_value=p, method=method,
        significant=p is not None and p < SIGNIFICANCE and a.size >= 2 and b.size >= 2,
        sources=tuple(sorted(rows["source"].unique())),
    )
