"""Per-request view of the tidy measurements, cold-start marking and statistics helpers (pure pandas)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bot.core.codes import categorical, combine, grouped_models
from bot.core.config import Config
from bot.core.tdist import two_sided_p

STAT_NAMES = ("n", "mean", "median", "p95", "min", "max", "std")

COLD_LOAD_FACTOR = 5.0  # a load this many times the model's typical load means the model was loaded
COLD_LOAD_MIN_MS = 500.0  # …and at least this long (keeps 40 ms vs 8 ms jitter out)


ROW_KINDS = ("request", "sample")


_META = ("source", "row", "model", "config", "context", "kind", "error")
_ALWAYS = ("throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "eval_ms", "output_tokens")


def request_frame(measurements: pd.DataFrame) -> pd.DataFrame:
    """One row per request or benchmark sample: request_id, source, model, config, context, kind,
    failed, error + one column per metric (sorted), in the order requests first occur.

    ``model`` is the name rows are grouped under (`bot.core.dimensions.group_model`: unnamed rows
    stay apart per source). ``config`` is the union of the request's per-metric configuration keys
    (they are restrictions of one context, so they never disagree). A metric's value is the request's
    first non-missing one. Adds ``latency_ms`` derived as ``ttft_ms + eval_ms`` where a file records
    those but no latency (Ollama-style results), and notes it in ``latency_definition``.
    """
    positions = row_positions(measurements)
    if not len(positions):
        return pd.DataFrame(columns=["request_id", "source", "model", "config", "context", "kind", "failed",
                                     "error", "throughput_tok_s", "ttft_ms", "latency_ms", "cold_start"])
    m = measurements
    request_ids = categorical(m["request_id"])
    number, first = combine(request_ids.codes[positions])
    at_first = positions[first]
    models = grouped_models(m["model"].iloc[positions], m["source"].iloc[positions])
    wide: dict[str, object] = {"request_id": texts_at(request_ids, at_first)}
    for name in _META:
        if name == "model":
            wide[name] = texts_at(models, first)
        elif name == "row":
            wide[name] = m["row"].to_numpy()[at_first]
        else:
            wide[name] = texts_at(categorical(m[name]), at_first)
    failed = m["failed"].to_numpy(dtype=bool)[positions]
    wide["failed"] = np.bincount(number, weights=failed, minlength=len(first)) > 0
    wide["config"] = _request_configs(categorical(m["config"]).codes[positions], number, categorical(m["config"]),
                                      np.asarray(wide["config"], dtype=object))
    frame = pd.DataFrame({name: _text_array(values) for name, values in wide.items()})
    frame = frame[["request_id", *_META[:5], "kind", "failed", "error"]]
    values = _metric_values(m, positions, number, len(first))
    frame = pd.concat([frame, values], axis=1)
    for metric in _ALWAYS:
        if metric not in frame:
            frame[metric] = np.nan
    derived = frame["latency_ms"].isna() & frame["ttft_ms"].notna() & frame["eval_ms"].notna()
    definition = np.full(len(frame), "", dtype=object)  # one shared string, not one per request
    definition[derived.to_numpy()] = "derived: ttft + eval"
    frame["latency_definition"] = pd.array(definition, dtype="str")
    frame.loc[derived, "latency_ms"] = frame.loc[derived, "ttft_ms"] + frame.loc[derived, "eval_ms"]
    frame["cold_start"] = mark_cold_starts(frame)
    return frame


def row_positions(measurements: pd.DataFrame) -> np.ndarray:
    """Positions of the rows of requests and benchmark samples."""
    if measurements.empty:
        return np.empty(0, dtype=np.int64)
    kinds = categorical(measurements["kind"])
    wanted = [i for i, kind in enumerate(kinds.categories.tolist()) if kind in ROW_KINDS]
    return np.flatnonzero(np.isin(kinds.codes, wanted))


def texts_at(values: pd.Categorical, positions: np.ndarray) -> np.ndarray:
    """The texts at ``positions`` (an object array sharing the categories' strings)."""
    return np.asarray(values.categories, dtype=object)[values.codes[positions]]


def _text_array(values: object) -> object:
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.array(values, dtype="str")
    return values


def _metric_values(m: pd.DataFrame, positions: np.ndarray, number: np.ndarray, count: int) -> pd.DataFrame:
    """One column per metric (sorted): each request's first non-missing value of it."""
    metrics = categorical(m["metric"])
    codes = metrics.codes[positions]
    present = np.unique(codes)
    names = metrics.categories.take(present).tolist()
    column = np.full(len(metrics.categories), -1, dtype=np.int64)
    column[present] = np.arange(len(present))
    values = m["value"].to_numpy(dtype="float64")[positions]
    known = ~np.isnan(values)
    matrix = np.full((count, len(present)), np.nan)
    cell = number[known] * len(present) + column[codes[known]]
    cells, first = np.unique(cell, return_index=True)
    matrix.reshape(-1)[cells] = values[known][first]
    order = sorted(range(len(names)), key=names.__getitem__)
    return pd.DataFrame(matrix[:, order], columns=[names[i] for i in order])


def _request_configs(codes: np.ndarray, number: np.ndarray, configs: pd.Categorical,
                     first: np.ndarray) -> np.ndarray:
    """Each request's configuration: the union of its rows' keys (only where they differ)."""
    _, at = combine(number, codes)
    per_request = np.bincount(number[at], minlength=len(first))
    mixed = np.flatnonzero(per_request > 1)
    if not len(mixed):
        return first
    out = first.copy()
    texts = configs.categories.tolist()
    merged: dict[int, dict[str, str]] = {int(r): {} for r in mixed}
    for row in at.tolist():
        request = int(number[row])
        if request in merged:
            merged[request].update(Config.parse(texts[codes[row]]).as_dict())
    for request, items in merged.items():
        out[request] = Config.from_context(items).text
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


def describe(values: pd.Series | np.ndarray) -> dict[str, float | int | None]:
    """n, mean, median, p95 (linear interpolation), min, max, sample std of the finite values."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        v = values
    else:
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


def welch(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> tuple[float | None, str]:
    """Two-sided Welch t-test p-value of a vs b, or None and why it cannot be computed."""
    a, b = _present(a), _present(b)
    if a.size < 2 or b.size < 2:
        return None, f"n={a.size} vs n={b.size}: too few samples to separate from noise"
    va, vb = _variance(a) / a.size, _variance(b) / b.size
    diff = float(_mean(a) - _mean(b))
    if va + vb == 0:
        return (0.0 if diff != 0 else 1.0), "no spread"
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    p = two_sided_p(t, df)
    return (p if math.isfinite(p) else None), "Welch t-test"


def _present(values: pd.Series | np.ndarray) -> np.ndarray:
    """The values as float64, the missing ones (NaN, or not numbers) left out."""
    if isinstance(values, np.ndarray):
        v = values.astype("float64", copy=False)
    else:
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return v[~np.isnan(v)]


# The mean and sample variance exactly as pandas computes them (`pandas.core.nanops`: the float64 sum
# over the count; the two-pass sum of squares over count - 1), on an array, without a Series per call.
def _mean(v: np.ndarray) -> np.float64:
    return v.sum(dtype=np.float64) / np.float64(v.size)


def _variance(v: np.ndarray) -> float:
    count = np.float64(v.size)
    return float(((v.sum(dtype=np.float64) / count - v) ** 2).sum(dtype=np.float64) / (count - 1))
