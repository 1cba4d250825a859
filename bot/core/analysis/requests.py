"""Per-request view of the tidy measurements, cold-start marking and statistics helpers (pure pandas)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.arrays import StringArray

from bot.core.codes import categorical, column_array, column_values, combine, grouped_models, narrowed, narrowest
from bot.core.config import Config
from bot.core.tdist import two_sided_p

# The text dtype ("str"), resolved once: pandas looks a dtype's name up in its registry on every call.
TEXT = pd.api.types.pandas_dtype("str")

STAT_NAMES = ("n", "mean", "median", "p95", "min", "max", "std")

COLD_LOAD_FACTOR = 5.0  # a load this many times the model's typical load means the model was loaded
COLD_LOAD_MIN_MS = 500.0  # …and at least this long (keeps 40 ms vs 8 ms jitter out)


ROW_KINDS = ("request", "sample")


_META = ("source", "row", "model", "config", "context", "kind", "error")
_ALWAYS = ("throughput_tok_s", "ttft_ms", "latency_ms", "load_ms", "eval_ms", "output_tokens")


class RequestRows:
    """The rows of requests and benchmark samples of a measurement frame (``positions``), and the
    request each belongs to (``number``: requests numbered in the order they first occur; ``first``:
    each request's first of them). Worked out once per analysis and handed to each step that reads
    those rows (`request_frame`, `bot.core.analysis.groups.config_groups`)."""

    def __init__(self, measurements: pd.DataFrame) -> None:
        # 32-bit positions and numbers where they fit: kept while the steps run, 8 bytes a row less
        self.positions = narrowed(row_positions(measurements), len(measurements))
        if len(self.positions):
            # (numbers made in as few bytes as hold them, not 8 bytes a row then copied: ~12 bytes a
            # row less at this step's peak)
            number, first = combine(coded(column_values(measurements, "request_id")).codes[self.positions], narrow=True)
            self.number = number.astype(np.int32, copy=False) if len(first) < 2**31 else number
            self.first = narrowed(first, len(self.positions))
        else:
            self.number, self.first = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        self.codes: RequestCodes | None = None  # set by `request_frame`


class RequestCodes:
    """Per request of a request frame, the codes its ``model``, ``config`` and ``source`` texts were
    read from, and those texts (``texts[code]``): each as (codes, texts). The model's and the
    configuration's texts are sorted (codes stand for their order, as `bot.core.codes.sorted_codes`
    gives them); ``config`` is None where a request's configuration was merged from its rows' (a text
    of its own). The steps that group requests take these instead of factorizing the texts again."""

    def __init__(self, model: tuple[np.ndarray, list[str]], config: tuple[np.ndarray, list[str]] | None,
                 source: tuple[np.ndarray, list[str]]) -> None:
        self.model, self.config, self.source = model, config, source


def request_frame(measurements: pd.DataFrame, rows: RequestRows | None = None) -> pd.DataFrame:
    """One row per request or benchmark sample: request_id, source, model, config, context, kind,
    failed, error + one column per metric (sorted), in the order requests first occur.

    ``model`` is the name rows are grouped under (`bot.core.dimensions.group_model`: unnamed rows
    stay apart per source). ``config`` is the union of the request's per-metric configuration keys
    (they are restrictions of one context, so they never disagree). A metric's value is the request's
    first non-missing one. Adds ``latency_ms`` derived as ``ttft_ms + eval_ms`` where a file records
    those but no latency (Ollama-style results), and notes it in ``latency_definition``.

    Memory (10,000 files: ~0.6 M rows, ~0.14 M requests): nothing per row beyond the request
    numbers and positions; the metric columns are filled one metric at a time into one block, and
    the frame takes its other columns without copying them. ``rows``: the frame's `RequestRows`, when
    known already; their ``codes`` are set (`RequestCodes`).
    """
    if rows is None:
        rows = RequestRows(measurements)
    positions, number, first = rows.positions, rows.number, rows.first
    if not len(positions):
        return pd.DataFrame(columns=["request_id", "source", "model", "config", "context", "kind", "failed",
                                     "error", "throughput_tok_s", "ttft_ms", "latency_ms", "cold_start"])
    m = measurements
    request_ids = coded(column_values(m, "request_id"))
    count = len(first)
    at_first = positions[first]
    models = grouped_models(column_values(m, "model"), column_values(m, "source"))
    # (sorted categories, as a text column sorts: `bot.core.followup` groups requests by configuration)
    configs, sources = categorical(column_values(m, "config")), categorical(column_values(m, "source"))
    # The frame is assembled from arrays, in its final column order, sharing them (no copy). Most
    # texts are categoricals sharing the measurement frame's categories (`shared_at`): a code of 1-4
    # bytes a request, where a text column holds an 8-byte pointer (~11 bytes per measurement row
    # less at 10,000 files). ``kind`` is asked which rows are of a kind on its codes (`is_text`);
    # ``context`` is mapped by `bot.core.followup` (pandas maps a categorical's categories, each once).
    leading: dict[str, Any] = {"request_id": shared_at(request_ids, at_first)}
    for name in _META[:5]:
        if name == "model":
            leading[name] = shared_at(models, at_first)
        elif name == "row":
            leading[name] = column_array(m, "row")[at_first]
        elif name == "config":
            leading[name], merged = _request_configs(configs.codes[positions], number, first, configs, at_first)
        elif name == "source":
            leading[name] = shared_at(sources, at_first)
        else:  # (context)
            leading[name] = shared_at(categorical(column_values(m, name)), at_first)
    leading["kind"] = shared_at(categorical(column_values(m, "kind")), at_first)
    failed = np.zeros(count, dtype=bool)
    failed[number[column_array(m, "failed", dtype=bool)[positions]]] = True
    leading["failed"] = failed
    leading["error"] = shared_at(categorical(column_values(m, "error")), at_first)
    names, matrix = _metric_values(m, positions, number, count)
    metric = {name: matrix[i] for i, name in enumerate(names)}
    latency, ttft, eval_ms = metric["latency_ms"], metric["ttft_ms"], metric["eval_ms"]
    derived = np.isnan(latency) & ~np.isnan(ttft) & ~np.isnan(eval_ms)
    latency[derived] = ttft[derived] + eval_ms[derived]
    definition = pd.Categorical.from_codes(derived.view(np.int8), dtype=_LATENCY_DEFINITIONS, validate=False)
    columns = {**leading, **metric, "latency_definition": definition,
               "cold_start": _cold_starts(failed, metric["load_ms"], models.codes[at_first])}
    rows.codes = _request_codes(at_first, models, None if merged else configs, sources)
    # (pandas 3 keeps the metric columns as they are, views of the matrix: nothing is copied)
    return pd.DataFrame(columns, copy=False)


# A request's ``latency_definition``: "" (as recorded), or derived (code 1: where ``derived`` is True).
_LATENCY_DEFINITIONS = pd.CategoricalDtype(pd.Index(["", "derived: ttft + eval"], dtype=str))


def shared_at(values: pd.Categorical, positions: np.ndarray) -> pd.Categorical:
    """The values at ``positions``, sharing the categories (their dtype: nothing is copied but codes).
    Like a text column, its values read back as texts (``to_numpy(dtype=object)``, comparisons, sets);
    it may have categories no row uses, which ``groupby`` (observed) and ``unique`` leave out. Sorted
    categories group and sort as texts do (request ids' are in any order: ~1 µs a category to check)."""
    return pd.Categorical.from_codes(values.codes[positions], dtype=values.dtype, validate=False)


def _request_codes(at_first: np.ndarray, models: pd.Categorical, configs: pd.Categorical | None,
                   sources: pd.Categorical) -> RequestCodes | None:
    """The `RequestCodes` of the requests whose first rows are ``at_first`` (``models`` and ``configs``
    with sorted categories); None when a text is missing at one of them (its code -1 stands for no
    text of the list)."""
    def read(values: pd.Categorical) -> tuple[np.ndarray, list[str]]:
        return values.codes[at_first], values.categories.tolist()

    model, source = read(models), read(sources)
    config = read(configs) if configs is not None else None
    if any(found is not None and (found[0] < 0).any() for found in (model, config, source)):
        return None
    return RequestCodes(model, config, source)


def row_positions(measurements: pd.DataFrame) -> np.ndarray:
    """Positions of the rows of requests and benchmark samples."""
    if measurements.empty:
        return np.empty(0, dtype=np.int64)
    kinds = coded(column_values(measurements, "kind"))
    wanted = [i for i, kind in enumerate(kinds.categories.tolist()) if kind in ROW_KINDS]
    return np.flatnonzero(np.isin(kinds.codes, wanted))


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of integers (sorted, each once), from one sort: numpy 2.4's np.unique
    hashes, ~10x slower on a few thousand distinct numbers (~0.15 ms a call on the real archive)."""
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def coded(column: pd.Series | pd.api.extensions.ExtensionArray | np.ndarray) -> pd.Categorical:
    """The column (a Series, or its values: `bot.core.codes.column_values`) as a categorical, its
    categories in whatever order they have: for codes and texts where that order does not matter
    (`bot.core.codes.categorical` may reorder them: request ids have one category per request)."""
    values = column.array if isinstance(column, pd.Series) else column
    return values if isinstance(values, pd.Categorical) else categorical(values)


def texts_at(values: pd.Categorical, positions: np.ndarray) -> np.ndarray:
    """The texts at ``positions`` (an object array sharing the categories' strings; NaN where missing)."""
    codes = values.codes[positions]
    texts = np.asarray(values.categories, dtype=object)[codes]
    if codes.size and codes.min() < 0:  # code -1 would index the last category
        texts[codes < 0] = np.nan
    return texts


def text_array(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """An object array of texts (and NaN for missing ones) as a text column, sharing the array:
    ``pd.array(values, dtype=TEXT)`` without its copy and conversions (there is nothing to convert;
    a frame made elsewhere may hold categories that are not texts: those are converted as before)."""
    try:
        return StringArray(values, dtype=TEXT)
    except ValueError:  # "requires a sequence of strings or NaN"
        return pd.array(values, dtype=TEXT)



def is_text(column: pd.Series | pd.Categorical, text: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Which values of a text column are ``text``, at ``rows`` (positions) only when given (of a
    categorical one, which may be given as itself, not as a Series: read off its codes)."""
    values = column if isinstance(column, pd.Categorical) else column.array
    if isinstance(values, pd.Categorical):
        code = code_of(values, text)
        codes = values.codes if rows is None else values.codes[rows]
        return codes == code if code >= 0 else np.zeros(len(codes), dtype=bool)
    return (column.to_numpy(dtype=object) if rows is None else column.iloc[rows].to_numpy(dtype=object)) == text


def text_column(frame: pd.DataFrame, name: str) -> pd.Series | pd.Categorical:
    """A text column as `is_text` reads it: a categorical as itself (`bot.core.codes.column_values`:
    no Series made, ~8 µs), any other as its Series."""
    values = column_values(frame, name)
    return values if isinstance(values, pd.Categorical) else frame[name]


def code_of(values: pd.Categorical, text: str) -> int:
    """The code of ``text`` among the categories; -1 (a missing value's code) when it is none. A
    lookup in the categories' own hash table (``get_indexer`` on a list builds an index: ~80 µs)."""
    try:
        return int(values.categories.get_loc(text))
    except KeyError:
        return -1


def _metric_values(m: pd.DataFrame, positions: np.ndarray, number: np.ndarray,
                   count: int) -> tuple[list[str], np.ndarray]:
    """(names, a row per name of each request's first non-missing value): the metrics present,
    sorted by name, then those of `_ALWAYS` absent (all NaN). Filled one metric at a time: what
    is made per row is a metric's rows, not every row's."""
    metrics = coded(column_values(m, "metric"))
    codes = metrics.codes[positions]
    present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(metrics.categories)))
    found = metrics.categories.take(present).tolist()
    order = sorted(range(len(found)), key=found.__getitem__)
    names = [found[i] for i in order] + [name for name in _ALWAYS if name not in found]
    matrix = np.full((len(names), count), np.nan)  # a row per metric: each column is contiguous
    values = column_array(m, "value", dtype="float64")
    # A block of rows at a time (the peak of `request_frame` at 10,000 files was a large metric's
    # temporaries, ~8 bytes a row): a block fills only requests no earlier block gave a value.
    for low in range(0, len(positions), _STEP):
        block = slice(low, low + _STEP)
        block_codes, block_positions, block_number = codes[block], positions[block], number[block]
        for row, i in enumerate(order):
            at = np.flatnonzero(block_codes == present[i])
            value = values[block_positions[at]]
            known = ~np.isnan(value)
            requests = block_number[at[known]]
            if len(requests) > 1 and (requests[1:] < requests[:-1]).any():
                firsts = np.unique(requests, return_index=True)[1]
            else:  # in request order already (as rows come): each request's first is where it starts
                firsts = np.flatnonzero(np.r_[True, requests[1:] != requests[:-1]]) if len(requests) else requests
            requests, value = requests[firsts], value[known][firsts]
            if low:  # (a value of an earlier block is the first: it stays)
                unset = np.isnan(matrix[row, requests])
                requests, value = requests[unset], value[unset]
            matrix[row, requests] = value
    return names, matrix


def _request_configs(codes: np.ndarray, number: np.ndarray, first: np.ndarray, configs: pd.Categorical,
                     at_first: np.ndarray) -> tuple[pd.Categorical, bool]:
    """Each request's configuration, the union of its rows' keys, as a categorical with sorted
    categories; and whether any was merged (where a request's rows differ). When none is, each request's
    configuration is its first row's, sharing the frame's categories (``configs``, sorted)."""
    mixed = distinct(number[codes != codes[first][number]])
    if not len(mixed):
        return shared_at(configs, at_first), False
    texts = configs.categories.tolist()
    merged: dict[int, dict[str, str]] = {int(r): {} for r in mixed}
    seen: set[tuple[int, int]] = set()
    rows = np.flatnonzero(np.isin(number, mixed))
    for request, code in zip(number[rows].tolist(), codes[rows].tolist(), strict=True):
        if (request, code) not in seen:  # each of a request's keys once, in the order they occur
            seen.add((request, code))
            merged[request].update(Config.parse(texts[code]).as_dict())
    # the merged texts join the categories (a code each), which are then sorted again
    out = configs.codes[at_first].astype(np.int64)
    known = {text: code for code, text in enumerate(texts)}
    for request, items in merged.items():
        text = Config.from_context(items).text
        code = known.get(text)
        if code is None:
            code = known[text] = len(texts)
            texts.append(text)
        out[request] = code
    order = sorted(range(len(texts)), key=texts.__getitem__)
    rank = np.empty(len(texts), dtype=np.int64)
    rank[order] = np.arange(len(texts))
    dtype = pd.CategoricalDtype(pd.Index([texts[i] for i in order], dtype=str))
    return pd.Categorical.from_codes(np.where(out >= 0, rank[out], -1), dtype=dtype, validate=False), True


def _cold_starts(failed: np.ndarray, load: np.ndarray, model: np.ndarray) -> np.ndarray:
    """A request is a cold start when the model had to be loaded for it (``model``: each request's
    model code, -1 for none).

    Evidence: its load time is at least COLD_LOAD_MIN_MS and COLD_LOAD_FACTOR× the model's median load
    (over its successful requests that record one) — i.e. model load dominates what the warm requests
    spend. Without a load column nothing is marked.
    """
    usable = ~failed & ~np.isnan(load) & (model >= 0)
    typical = np.full(int(model.max(initial=-1)) + 1, np.nan)
    order = order_statistics(model[usable], load[usable], len(typical))
    typical[order.labels] = order.median
    with np.errstate(invalid="ignore"):
        threshold = np.where(model >= 0, COLD_LOAD_FACTOR * typical[model], np.nan)
        return ~failed & ~np.isnan(load) & (load >= COLD_LOAD_MIN_MS) & (load >= threshold)


class OrderStatistics:
    """Per label present: n, median, min, max and a quantile of its values (``labels`` ascending)."""

    def __init__(self, labels: np.ndarray, n: np.ndarray, median: np.ndarray, minimum: np.ndarray,
                 maximum: np.ndarray, quantile: np.ndarray) -> None:
        self.labels, self.n, self.median, self.min, self.max, self.p95 = labels, n, median, minimum, maximum, quantile


_STEP = 1 << 16  # rows per block where a per-row temporary is made a block at a time


def order_statistics(labels: np.ndarray, values: np.ndarray, size: int, quantile: float = 0.95) -> OrderStatistics:
    """Order statistics of the values (no NaN) per label (0 <= label < size), from one sort.

    The same numbers as pandas' groupby median, min, max and quantile (linear): the median is the
    middle value or the mean of the two middle ones, the quantile ``v[i] + (v[i + 1] - v[i]) * frac``
    at ``quantile * (n - 1)`` as pandas' group_quantile computes it (np.percentile's formula differs
    in the last bit), checked bit for bit against pandas on random groups. Equal values are the same
    bits except -0.0 and 0.0: with a -0.0 among the values, pandas computes them (the sign of a zero
    result is its algorithm's; `_negative_zero`).
    """
    counts = np.bincount(labels, minlength=size)
    present = np.flatnonzero(counts)
    n = counts[present]
    if _negative_zero(values):  # -0.0 and 0.0 sort as equal: which one comes out is pandas' algorithm's
        grouped = pd.Series(values).groupby(labels, sort=True)
        return OrderStatistics(present, n, grouped.median().to_numpy(), grouped.min().to_numpy(),
                               grouped.max().to_numpy(), grouped.quantile(quantile).to_numpy())
    start = (np.cumsum(counts) - counts)[present]
    # The values in (label, value) order, as one sort of integers: a value's label times N plus its
    # rank among all the values (one argsort of the floats; a lexsort of the two keys is several times
    # slower on 10^5 rows). Only six places per label are read off that order (min, max, the middle
    # two, the quantile's two neighbours), so the sorted values are never made: what is made per value
    # is the argsort (8 bytes) and the key (in as few bytes as hold label * N: 4 on large archives).
    size = len(values)
    by_value = np.argsort(values)
    # (at least 2 labels' worth: the type must hold ``size`` itself, which one label's bound does not)
    key = labels[by_value].astype(narrowest(max(len(counts), 2) * size), copy=False)
    key *= size  # (each value's label, in value order, times N)
    for low in range(0, size, _STEP):  # + its rank (a block at a time: no second array of N numbers)
        key[low:low + _STEP] += np.arange(low, min(low + _STEP, size), dtype=key.dtype)
    key.sort()
    middle = start + n // 2
    at = quantile * (n - 1).astype(np.float64)
    whole = at.astype(np.int64)
    frac = at - whole
    # the values at those places of the (label, value) order, read in one go (on small archives the
    # fixed cost of each numpy call is what counts)
    places = np.concatenate((start, start + n - 1, middle, middle - 1 + n % 2, start + whole,
                             np.minimum(start + whole + 1, start + n - 1)))
    if len(places) < size:  # few labels (a large archive's): only those places are read
        key = key[places]
        key %= size  # (each one's rank among all the values)
        found = values[by_value[key]]
    else:  # as many places as values (tiny groups): reading the whole order costs less
        key %= max(size, 1)
        found = values[by_value[key]][places]
    minimum, maximum, upper, lower, low, high = found.reshape(6, len(present))
    with np.errstate(over="ignore", invalid="ignore"):  # both branches are computed; pandas' C code never warns
        median = np.where(n % 2 == 1, upper, (lower + upper) / 2)
        between = np.where(frac == 0.0, low, low + (high - low) * frac)
    return OrderStatistics(present, n, median, minimum, maximum, between)


def describe(values: pd.Series | np.ndarray) -> dict[str, float | int | None]:
    """n, mean, median, p95 (linear interpolation), min, max, sample std of the finite values."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        v = values
    else:
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {name: (0 if name == "n" else None) for name in STAT_NAMES}
    median, p95, minimum, maximum = _order_figures(v)
    mean = v.sum() / v.size  # ndarray.mean's arithmetic (its sum over the count), without its dispatch
    return {
        "n": int(v.size),
        "mean": float(mean),
        "median": median,
        "p95": p95,
        "min": minimum,
        "max": maximum,
        "std": _std(v, mean) if v.size > 1 else None,
    }


def _std(v: np.ndarray, mean: np.float64) -> float:
    """``float(v.std(ddof=1))`` (v: float64, more than one value) with numpy's own steps: the squared
    deviations from the mean, summed, over n - 1, square-rooted (same bits; ~10 µs less a call)."""
    deviation = v - mean
    deviation *= deviation
    return float(np.sqrt(deviation.sum() / (v.size - 1)))


def _negative_zero(values: np.ndarray) -> bool:
    """Whether a -0.0 is among the values (asked of them as given: where both zeros are, numpy 2.4's
    sort may turn a 0.0 into a -0.0 and back). Where one is, which zero a median, a minimum or a
    quantile gives is left to numpy's or pandas' own algorithm (-0.0 and 0.0 sort as equal; numpy's
    median of a -0.0 sums it onto 0.0). Zeros that are all 0.0 are equal to the bit, as any equal
    values are: any of them picked is the same number, and the arithmetic on them is the same (a test
    holds the sort's figures to numpy's and pandas' with such zeros). Real results often record a 0 (a
    TTFT or throughput of 0): those took the slow calls, ~60 µs each."""
    zeros = values == 0.0
    return bool(zeros.any()) and bool(np.signbit(values[zeros]).any())


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a non-empty array, from one sort (np.median costs ~25 µs a call;
    ranking claims take dozens). numpy decides when a -0.0 (`_negative_zero`) or NaN is among them, and
    for any type but float64 (numpy's mean of two integers is taken in float64: their sum in integers
    can overflow or round otherwise)."""
    if values.dtype != np.float64:
        return float(np.median(values))
    s = np.sort(values)
    if np.isnan(s[-1]) or (s[0] <= 0.0 <= s[-1] and _negative_zero(values)):
        return float(np.median(values))
    middle = s.size // 2
    return float(s[middle]) if s.size % 2 else float((s[middle - 1] + s[middle]) / 2)


def _order_figures(v: np.ndarray) -> tuple[float, float, float, float]:
    """``np.median(v)``, ``np.percentile(v, 95)``, ``v.min()`` and ``v.max()`` (finite values) from one
    sort: the same arithmetic as numpy's (the mean of the two middle values; linear interpolation at
    (n - 1) * 0.95, from the upper neighbour when the weight is >= 0.5), without its per-call overhead
    (~0.1 ms, four times per model); the extremes are the sort's ends (equal values are the same bits
    there). With a -0.0 among the values numpy's own calls decide which of -0.0 and 0.0 (equal when
    sorting) is picked (`_negative_zero`)."""
    s = np.sort(v)
    lowest, highest = float(s[0]), float(s[-1])
    if lowest <= 0.0 <= highest and _negative_zero(v):
        return float(np.median(v)), float(np.percentile(v, 95)), float(v.min()), float(v.max())
    n = s.size
    middle = n // 2
    median = float(s[middle]) if n % 2 else float((s[middle - 1] + s[middle]) / 2)
    at = (n - 1) * 0.95
    below = math.floor(at)
    weight = at - below
    low, high = float(s[below]), float(s[min(below + 1, n - 1)])
    step = high - low
    p95 = high - step * (1 - weight) if weight >= 0.5 else low + step * weight
    return median, p95, lowest, highest


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
    percentile = percentile_of(name)
    if percentile is not None:
        return float(np.percentile(values, percentile))
    if name == "min":
        return float(values.min())
    if name == "max":
        return float(values.max())
    if name == "std":
        return float(values.std(ddof=1)) if values.size > 1 else None
    return None


def percentile_of(name: str) -> float | None:
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
    a, b = _rescaled(a, b)
    va, vb = _variance(a) / a.size, _variance(b) / b.size
    diff = float(_mean(a) - _mean(b))
    if va + vb == 0:
        return (0.0 if diff != 0 else 1.0), "no spread"
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    p = two_sided_p(t, df)
    return (p if math.isfinite(p) else None), "Welch t-test"


_SAFE_SCALE = (1e-100, 1e100)  # squared variances of values in this range neither underflow nor overflow


def _rescaled(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both samples divided by their largest magnitude when it lies outside `_SAFE_SCALE` (t and df do
    not change under a common scale; values of 1e-160 made the df's denominator 0.0 / 0.0, values
    of 1e-170 a spread of 0). Inside it, the samples are returned as they are, so the p-values keep
    their bits."""
    scale = float(max(np.abs(a).max(), np.abs(b).max()))
    if scale == 0 or not math.isfinite(scale) or _SAFE_SCALE[0] <= scale <= _SAFE_SCALE[1]:
        return a, b
    return a / scale, b / scale


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
