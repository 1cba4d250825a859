"""Per-request view of the tidy measurements, cold-start marking and statistics helpers (pure pandas)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bot.core.config import Config
from bot.core.dimensions import group_model

STAT_NAMES = ("n", "mean", "median", "p95", "min", "max", "std")

COLD_LOAD_FACTOR = 5.0  # a load this many times the model's typical load means the model was loaded
COLD_LOAD_MIN_MS = 500.0  # …and at least this long (keeps 40 ms vs 8 ms jitter out)


ROW_KINDS = ("request", "sample")


def request_frame(measurements: pd.DataFrame) -> pd.DataFrame:
    """One row per request or benchmark sample: request_id, source, model, config, context, kind,
    failed, error + one column per metric.

    ``model`` is the name rows are grouped under (`bot.core.dimensions.group_model`: unnamed rows
    stay apart per source). ``config`` is the union of the request's per-metric configuration keys
    (they are restrictions of one context, so they never disagree). Adds ``latency_ms`` derived as
    ``ttft_ms + eval_ms`` where a file records those but no latency (Ollama-style results), and notes
    it in ``latency_definition``.
    """
    req = measurements.loc[measurements["kind"].isin(ROW_KINDS)]
    if req.empty:
        return pd.DataFrame(columns=["request_id", "source", "model", "config", "context", "kind", "failed",
                                     "error", "throughput_tok_s", "ttft_ms", "latency_ms", "cold_start"])
    req = req.assign(model=[group_model(m, s) for m, s in zip(req["model"], req["source"], strict=True)])
    meta = (req.groupby("request_id", sort=False)
            .agg(source=("source", "first"), row=("row", "first"), model=("model", "first"),
                 config=("config", "first"), context=("context", "first"), kind=("kind", "first"),
                 failed=("failed", "max"), error=("error", "first")))
    meta["config"] = _request_configs(req, meta["config"])
    values = req.pivot_table(index="request_id", columns="metric", values="value", aggfunc="first",
                             dropna=False)
    wide = meta.join(values).reset_index()
    for metric in ("throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "eval_ms", "output_tokens"):
        if metric not in wide:
            wide[metric] = np.nan
    derived = wide["latency_ms"].isna() & wide["ttft_ms"].notna() & wide["eval_ms"].notna()
    wide["latency_definition"] = np.where(derived, "derived: ttft + eval", "")
    wide.loc[derived, "latency_ms"] = wide.loc[derived, "ttft_ms"] + wide.loc[derived, "eval_ms"]
    wide["cold_start"] = mark_cold_starts(wide)
    return wide


def _request_configs(req: pd.DataFrame, first: pd.Series) -> pd.Series:
    """Each request's configuration: the union of its rows' keys (only where they differ)."""
    counts = req.groupby("request_id", sort=False)["config"].nunique()
    mixed = counts.index[counts > 1]
    if len(mixed) == 0:
        return first
    out = first.copy()
    rows = req.loc[req["request_id"].isin(set(mixed)), ["request_id", "config"]].drop_duplicates()
    for request_id, configs in rows.groupby("request_id", sort=False)["config"]:
        merged: dict[str, str] = {}
        for text in configs:
            merged.update(Config.parse(text).as_dict())
        out.loc[request_id] = Config.from_context(merged).text
    return out


def mark_cold_starts(wide: pd.DataFrame) -> pd.Series:
    """A request is a cold start when the model had to be loaded for it.

    Evidence: its load time is at least COLD_LOAD_MIN_MS and COLD_LOAD_FACTOR× the model's median load
    — i.e. model load dominates what the warm requests spend. Without a load column nothing is marked.
    """
    ok = ~wide["failed"].astype(bool)
    load = wide["load_ms"]
    typical = load.where(ok).groupby(wide["model"]).transform("median")
    cold = ok & load.notna() & (load >= COLD_LOAD_MIN_MS) & (load >= COLD_LOAD_FACTOR * typical)
    return cold.fillna(False).astype(bool)


def describe(values: pd.Series) -> dict[str, float | int | None]:
    """n, mean, median, p95 (linear interpolation), min, max, sample std of the finite values."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {name: (0 if name == "n" else None) for name in STAT_NAMES}
    return {
        "n": int(v.size),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "p95": float(np.percentile(v, 95)),
        "min": float(v.min()),
        "max": float(v.max()),
        "std": float(v.std(ddof=1)) if v.size > 1 else None,
    }


def statistic(values: pd.Series, name: str) -> float | None:
    """One named statistic (mean, median, pNN, min, max, std) of the finite values."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return array_statistic(v[np.isfinite(v)], name)


def array_statistic(values: np.ndarray, name: str) -> float | None:
    """`statistic` on an array of finite values (the hot path of claim checks)."""
    if values.size == 0:
        return None
    if name == "mean":
        return float(values.mean())
    if name == "median":
        return float(np.median(values))
    percentile = _percentile(name)
    if percentile is not None:
        return float(np.percentile(values, percentile))
    if name == "min":
        return float(values.min())
    if name == "max":
        return float(values.max())
    if name == "std":
        return float(values.std(ddof=1)) if values.size > 1 else None
    return None


def _percentile(name: str) -> float | None:
    """'p95' -> 95.0, 'p99.9' -> 99.9; None for anything else."""
    if len(name) < 2 or name[0] != "p":
        return None
    try:
        value = float(name[1:])
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def welch(a: pd.Series, b: pd.Series) -> tuple[float | None, str]:
    """Two-sided Welch t-test p-value of a vs b, or None and why it cannot be computed."""
    from scipy.special import stdtr  # 0.2 s to import, scipy.stats costs 0.6 s more

    a = pd.to_numeric(a, errors="coerce").dropna()
    b = pd.to_numeric(b, errors="coerce").dropna()
    if a.size < 2 or b.size < 2:
        return None, f"n={a.size} vs n={b.size}: too few samples to separate from noise"
    va, vb = float(a.var(ddof=1)) / a.size, float(b.var(ddof=1)) / b.size
    diff = float(a.mean() - b.mean())
    if va + vb == 0:
        return (0.0 if diff != 0 else 1.0), "no spread"
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    p = float(2 * stdtr(df, -abs(t)))
    return (p if math.isfinite(p) else None), "Welch t-test"
