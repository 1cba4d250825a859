"""Check the archive's own claims (summary files, Markdown) against its raw rows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from bot.analysis.requests import statistic

CHECKABLE = {"mean", "median", "p90", "p95", "p99", "min", "max", "std"}


@dataclass(frozen=True)
class ClaimCheck:
    source: str
    model: str
    config: str
    metric: str
    statistic: str
    claimed: float
    actual: float
    unit: str
    status: str  # 'match' | 'mismatch'
    raw_sources: tuple[str, ...]
    n: int
    explanation: str = ""


def resolve_claim_model(claim_model: str, context: str, config: str, known: list[str]) -> tuple[str, str]:
    """(model, config) of a claim; '' model when it cannot be pinned to one of the known models."""
    if claim_model in known:
        return claim_model, config
    if config.startswith("tag=") and "," not in config:
        tag = config[4:]
        matches = [m for m in known if m.endswith((":" + tag, "-" + tag, "_" + tag))]
        if len(matches) == 1:
            return matches[0], ""
    lowered = (claim_model + " " + context).lower()
    hits = [m for m in sorted(known, key=len, reverse=True) if m and m.lower() in lowered]
    if hits:
        return hits[0], config
    return "", config


def check_claims(claims: pd.DataFrame, requests: pd.DataFrame, generic: pd.DataFrame) -> tuple[list[ClaimCheck], int]:
    """Checks of every claim that can be pinned to raw rows, and the count of those that cannot."""
    checks: list[ClaimCheck] = []
    unverifiable = 0
    known = sorted(m for m in requests["model"].dropna().unique() if m) if not requests.empty else []
    ok = requests.loc[~requests["failed"].astype(bool)] if not requests.empty else requests
    cache: dict = {}
    by_model = {model: rows for model, rows in ok.groupby("model", sort=False)} if not ok.empty else {}
    for claim in claims.itertuples(index=False):
        stat = claim.statistic
        if stat not in CHECKABLE:
            unverifiable += 1
            continue
        if claim.metric == "time_ms":
            check = _check_generic(claim, generic)
        else:
            check = _check_llm(claim, requests, ok, known, by_model, cache)
        if check is None:
            unverifiable += 1
        else:
            checks.append(check)
    return checks, unverifiable


def _tolerance(claim, actual: float) -> float:
    """Rounding the claim shows, or 0.1% — raw files themselves are often rounded (77.73 tok/s), so a
    summary computed from unrounded values may differ from ours in the last digits."""
    return max(float(claim.precision or 0.0) * 1.0001, 1e-3 * abs(actual), 1e-9)


def _check_llm(claim, requests: pd.DataFrame, ok: pd.DataFrame, known: list[str],
               by_model: dict[str, pd.DataFrame], cache: dict) -> ClaimCheck | None:
    if claim.metric not in ok.columns:
        return None
    model, config = resolve_claim_model(claim.model or "", claim.context or "", claim.config or "", known)
    if not model:
        # A claim without a model can still be checked when its configuration pins one source run.
        if not config:
            return None
    groups = _groups(cache, by_model, ok, model, config)
    best: tuple[float, str, int] | None = None
    for source, columns in groups:
        values = columns.get(claim.metric)
        if values is None or values.size == 0:
            continue
        actual = _np_statistic(values, claim.statistic)
        if actual is None:
            continue
        if abs(actual - claim.value) <= _tolerance(claim, actual):
            return ClaimCheck(claim.source, model, config, claim.metric, claim.statistic, claim.value,
                              actual, claim.unit, "match", (source,), int(values.size))
        if best is None or abs(actual - claim.value) < abs(best[0] - claim.value):
            best = (actual, source, int(values.size))
    if best is None:
        return None
    actual, source, n = best
    explanation = _explain(claim, requests, model, config, source)
    return ClaimCheck(claim.source, model, config, claim.metric, claim.statistic, claim.value, actual,
                      claim.unit, "mismatch", (source,), n, explanation)


_Groups = list[tuple[str, dict[str, np.ndarray]]]


def _groups(cache: dict[tuple[str, str], _Groups], by_model: dict[str, pd.DataFrame], ok: pd.DataFrame,
            model: str, config: str) -> _Groups:
    """Successful rows in scope, per source file (then all together), as plain arrays per metric.

    Cached per (model, config): hundreds of claims share a few scopes.
    """
    key = (model, config)
    if key not in cache:
        scope = by_model.get(model, ok.iloc[0:0]) if model else ok
        if config:
            wanted = set(config.split(","))
            scope = scope.loc[[wanted <= _config_set(c) for c in scope["config"]]]
        metrics = [c for c in scope.columns if c in _METRIC_COLUMNS]
        groups: _Groups = []
        for source, rows in scope.groupby("source", sort=True):
            groups.append((str(source), _arrays(rows, metrics)))
        if len(groups) > 1:
            groups.append(("(all files)", _arrays(scope, metrics)))
        cache[key] = groups
    return cache[key]


_METRIC_COLUMNS = {"throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "prompt_eval_ms", "eval_ms",
                   "prompt_tokens", "output_tokens", "tpot_ms", "itl_ms"}


def _arrays(rows: pd.DataFrame, metrics: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for metric in metrics:
        values = rows[metric].to_numpy(dtype="float64")
        out[metric] = values[np.isfinite(values)]
    return out


def _np_statistic(values: np.ndarray, name: str) -> float | None:
    if values.size == 0:
        return None
    if name == "mean":
        return float(values.mean())
    if name == "median":
        return float(np.median(values))
    if name in {"p90", "p95", "p99"}:
        return float(np.percentile(values, int(name[1:])))
    if name == "min":
        return float(values.min())
    if name == "max":
        return float(values.max())
    if name == "std":
        return float(values.std(ddof=1)) if values.size > 1 else None
    return None


@lru_cache(maxsize=4096)
def _config_set(config: str) -> frozenset[str]:
    return frozenset(config.split(",")) if config else frozenset()


def _config_covers(row_config: str, claim_config: str) -> bool:
    """The row's configuration includes every key=value the claim names."""
    if not claim_config:
        return True
    have = set(row_config.split(",")) if row_config else set()
    return set(claim_config.split(",")) <= have


def _explain(claim, requests: pd.DataFrame, model: str, config: str, source: str) -> str:
    """Look for the usual mistake behind a wrong summary number."""
    scope = requests
    if model:
        scope = scope.loc[scope["model"] == model]
    if config:
        scope = scope.loc[scope["config"].map(lambda c: _config_covers(c, config))]
    if source != "(all files)":
        scope = scope.loc[scope["source"] == source]
    values = scope[claim.metric]
    failed = scope["failed"].astype(bool)
    if failed.any():
        with_zeros = statistic(values.where(~failed, 0.0), claim.statistic)
        if with_zeros is not None and abs(with_zeros - claim.value) <= _tolerance(claim, with_zeros) * 10:
            return "matches only if failed requests (stored as zeros) are averaged in"
    if "cold_start" in scope and scope["cold_start"].any():
        warm = statistic(values.loc[~scope["cold_start"] & ~failed], claim.statistic)
        if warm is not None and abs(warm - claim.value) <= _tolerance(claim, warm) * 10:
            return "matches the warm requests only (cold starts left out without saying so)"
    other = {"mean": "median", "median": "mean"}.get(claim.statistic)
    if other:
        alt = statistic(values.loc[~failed], other)
        if alt is not None and abs(alt - claim.value) <= _tolerance(claim, alt) * 10:
            return f"the value is the {other}, not the {claim.statistic}"
    return ""


def _check_generic(claim, generic: pd.DataFrame) -> ClaimCheck | None:
    if generic.empty or not claim.config:
        return None
    stem = str(PurePosixPath(claim.source).with_suffix(""))
    scope = generic.loc[(generic["metric"] == "time_ms") & (generic["config"] == claim.config)]
    scope = scope.loc[scope["source"].map(lambda s: str(PurePosixPath(s).with_suffix("")) == stem)]
    defn = claim.statistic + " "
    quantity = (claim.context.split(" | ")[-1] if " | " in (claim.context or "") else "").strip()
    scope = scope.loc[scope["definition"].map(
        lambda d: d.startswith(defn) or (claim.statistic == "value" and quantity and quantity.replace("_", " ") in d))]
    if scope.empty:
        return None
    diffs = (scope["value"] - claim.value).abs()
    idx = diffs.idxmin()
    actual = float(scope.loc[idx, "value"])
    status = "match" if abs(actual - claim.value) <= _tolerance(claim, actual) else "mismatch"
    return ClaimCheck(claim.source, "", claim.config, "time_ms", claim.statistic, claim.value, actual,
                      "ms", status, (str(scope.loc[idx, "source"]),), 1)
