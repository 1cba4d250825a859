"""Statistics per configuration: one row per (model, metric, configuration, kind), never pooled.

Requests and benchmark samples of one configuration are described together (n, mean, median, p95,
min, max, sample std) over the successful ones; failed ones are counted. For TTFT the warm figures
leave cold starts out. A tool's own aggregates are not re-aggregated: they stay one row each
(`aggregate_rows`), with their statistic and the tool's n.

Groups are numbered once on the columns' codes (`bot.core.codes.combine`), in the order they first
occur; every statistic is then one vectorised groupby over that number.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from bot.core.analysis.requests import (
    ROW_KINDS,
    RequestRows,
    code_of,
    coded,
    distinct,
    narrowest,
    order_statistics,
    row_positions,
    text_array,
    texts_at,
)
from bot.core.codes import categorical, column_array, column_values, combine, grouped_models, ranked
from bot.core.dimensions import config_values

GROUP_KEYS = ["model", "metric", "config", "kind"]
GROUP_COLUMNS = [*GROUP_KEYS, "unit", "n", "failed", "mean", "median", "p95", "min", "max", "std", "warm_n",
                 "warm_median", "definition", "sources", "values"]


def with_group_model(measurements: pd.DataFrame) -> pd.DataFrame:
    """The measurements with ``model`` as grouped (unnamed rows apart per source)."""
    if measurements.empty:
        return measurements
    return measurements.assign(model=grouped_models(column_values(measurements, "model"),
                                                    column_values(measurements, "source")))


class _Rows:
    """The request and sample rows of a measurement frame, numbered by group.

    What is kept per row is each row's group number (1-2 bytes on most archives): whether a row
    succeeded is made when the statistics need it (`successful`), and the frame's failure flags and
    values are read where asked (its own arrays, no copy). Kept masks of failed and successful rows
    (1 byte a row each) sat under every step's temporaries: ~2 bytes per measurement row off the
    step's peak at 10,000 files."""

    def __init__(self, measurements: pd.DataFrame, requests: RequestRows) -> None:
        m = measurements
        self.positions = requests.positions
        self.requests = requests
        # sorted categories where codes stand for the texts' order (ranks, joined texts); any order else
        self.columns = {name: categorical(column_values(m, name)) for name in (*GROUP_KEYS, "definition", "source")}
        self.columns["unit"] = coded(column_values(m, "unit"))
        self.number, self.first = _numbered([self.columns[name].codes for name in GROUP_KEYS], self.positions)
        # The frame's own arrays (no copy): values are read off them where a step needs them
        # (`values`), a block of rows at a time; a copy of every successful value was ~7.5 bytes per
        # measurement row kept for the whole step at 10,000 files.
        self.all_failed = column_array(m, "failed", dtype=bool)
        self.all_values = column_array(m, "value", dtype="float64")

    def values(self, rows: np.ndarray) -> np.ndarray:
        """The values of the rows at ``rows`` (a mask or indices over `positions`)."""
        return self.all_values[self.positions[rows]]

    def successful(self) -> np.ndarray:
        """Per row, whether it succeeded with a value (not failed, not NaN), made `_PASS` rows at a
        time: the row's flag and value taken whole were 2 more bytes a row for a moment."""
        ok = np.empty(len(self.positions), dtype=bool)
        for low in range(0, len(ok), _PASS):
            at = self.positions[low:low + _PASS]
            part = ok[low:low + _PASS]
            np.isnan(self.all_values[at], out=part)
            part |= self.all_failed[at]
            np.logical_not(part, out=part)
        return ok

    def failed(self) -> np.ndarray:
        """The failed rows (indices over `positions`; few on most archives), found `_PASS` rows at a time."""
        found = [np.flatnonzero(self.all_failed[self.positions[low:low + _PASS]]) + low
                 for low in range(0, len(self.positions), _PASS)]
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.first)

    def texts(self, name: str) -> np.ndarray:
        return texts_at(self.columns[name], self.positions[self.first])


def _numbered(codes: list[np.ndarray], positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`combine` of the columns' codes at ``positions`` (the group of each row, numbered in the order
    they first occur, and each group's first row), its numbers as narrow as the count of groups allows.

    The codes are folded into one key a row first, in as few bytes as the product of the columns'
    widths allows: `combine` given several columns makes a 64-bit key of them, and given this one
    key, only its numbers (8 bytes a row, for a moment)."""
    widths = [int(column.max(initial=-1)) + 2 for column in codes]  # (+1: a missing text's code, -1)
    space = math.prod(widths)
    if space >= 2**62:  # (no key of 64 bits: `combine` numbers them as it can)
        number, first = combine(*(column[positions] for column in codes))
    else:
        key = codes[0][positions].astype(narrowest(space))
        for column, width in zip(codes[1:], widths[1:], strict=True):
            key *= width
            key += column[positions]
        # each code + 1 (no code is negative then), added to the key at once
        key += sum(math.prod(widths[i + 1:]) for i in range(len(widths)))
        number, first = combine(key, narrow=True)
        del key
    return number.astype(narrowest(len(first)), copy=False), first

def config_groups(measurements: pd.DataFrame, cold: Collection[str] = (), *, requests: RequestRows | None = None,
                  cold_requests: np.ndarray | None = None) -> pd.DataFrame:
    """Per (model, metric, config, kind) statistics of requests and samples, in the order the
    groups first occur.

    ``measurements`` has grouped model names (`with_group_model`); ``cold`` holds the request ids of
    cold starts (their TTFT is left out of the warm figures). Within an analysis the request rows are
    known already (``requests``: `RequestRows` of the same frame) and so are the cold starts, as the
    request frame's ``cold_start`` column (``cold_requests``, by request number): no request id is
    looked up as a text.
    """
    if requests is None:
        requests = RequestRows(measurements)
    if not len(requests.positions):
        return pd.DataFrame(columns=GROUP_COLUMNS)
    if cold_requests is None:
        cold_requests = _cold_requests(measurements, requests, cold)
    rows = _Rows(measurements, requests)
    texts = {name: text_array(rows.texts(name)) for name in (*GROUP_KEYS, "unit")}
    # The rows' success mask (1 byte a row) is made for the steps that read it and let go before the
    # texts are joined (its table and pairs do not sit on top of it), which are joined last (what
    # they make is kept: it does not sit under the statistics' temporaries).
    failed = _failures(rows)
    ok = rows.successful()
    stats = _statistics(rows, ok)
    warm = _warm(rows, ok, stats["n"], cold_requests)
    del ok
    definition, sources, values = _joined(rows, "definition"), _joined(rows, "source"), _config_values(rows)
    out: dict[str, Any] = {**texts, "n": stats.pop("n"), "failed": failed, **stats, **warm,
                           "definition": definition, "sources": sources, "values": values}
    return pd.DataFrame(out, copy=False)  # (the arrays are this frame's own; in GROUP_COLUMNS' order)


def _cold_requests(measurements: pd.DataFrame, requests: RequestRows, cold: Collection[str]) -> np.ndarray:
    """Per request (by number), whether its id is among ``cold``."""
    if not cold:
        return np.zeros(len(requests.first), dtype=bool)
    ids = coded(column_values(measurements, "request_id"))
    # probe the few cold ids with every category (an index of all request ids would be kept)
    is_cold = pd.Index(list(cold)).get_indexer(ids.categories) >= 0
    return is_cold[ids.codes[requests.positions[requests.first]]]


# Successful values whose statistics are worked out at a time (`_statistics`, `_warm`), and rows whose
# (group, text) pairs are (`_joined`): pandas' groupby (~16 bytes a value) and the sort's temporaries
# (~13) stay about a MB whatever the archive's size, where all at once they were the top of the
# analysis' peak at 10,000 files (~12 bytes per measurement row above the rest; 2^17 values at a
# time still ~3.4).
_BLOCK = 1 << 16
# Rows per step of a pass over every row (`_Rows.successful`, `_statistics`, `_warm`): a mask or
# the indices of a step's rows, never of all rows (each was 1-8 bytes per measurement row at the
# step's peak). 2^14 made no lower peak at 10,000 files (the statistics' block sets it) and cost
# ~8 ms more of Python steps there.
_PASS = 1 << 16


def _statistics(rows: _Rows, ok: np.ndarray) -> dict[str, np.ndarray]:
    """n, mean, median, min, max, sample std and p95 of each group's successful values (``ok``: per
    row; NaN where a group has none). Mean and std are pandas' (its sums depend on the order it adds
    in): a groupby by the groups' sorted ranks, as grouping by their keys did
    (`bot.core.codes.ranked`); the order statistics are read off the sorted values
    (`order_statistics`, the same numbers). On large archives both a block of whole groups at a time
    (`_BLOCK`): a group's figures are its own values' only, and what is made per value (the block's
    values, pandas' 8-byte group numbers, the sort's temporaries) stays a few MB whatever the
    archive's size. Nothing is made per row of the whole: labels are each group's (``rank``), read
    at a pass's rows (`_PASS` at a time); a label per row and a mask of a block's rows were 2 bytes
    per measurement row at the step's peak (10,000 files)."""
    groups = np.arange(len(rows))
    # each group's label, from its first row's codes (not every row's codes, then the first's)
    at_first = rows.positions[rows.first]
    rank = ranked(groups, rows.first, *(rows.columns[name].codes[at_first] for name in GROUP_KEYS))
    # (labels in the type pandas keeps a categorical's codes of ``len(rows) + 1`` categories in
    # (`_block_statistics`): a block's labels are taken as they are, not copied to 8 bytes and back)
    rank = rank.astype(narrowest(len(rows) + 2))
    group_of_label = np.empty(len(rows), dtype=np.int64)
    group_of_label[rank] = groups
    out = {name: np.full(len(rows), np.nan) for name in ("mean", "median", "p95", "min", "max", "std")}
    # per label, its successful values; and whether the successful rows' labels come sorted: pandas
    # sums a group's values one way when they do (numpy's reduceat) and another when not (Kahan),
    # the whole's way is asked of every block
    counts = np.zeros(len(rows), dtype=np.int64)
    ordered, last = True, -1
    for low in range(0, len(ok), _PASS):
        labels = rank[rows.number[low:low + _PASS][ok[low:low + _PASS]]]
        if len(labels):
            counts += np.bincount(labels, minlength=len(rows))
            ordered = ordered and int(labels[0]) >= last and bool((labels[1:] >= labels[:-1]).all())
            last = int(labels[-1])
    blocks = _blocks(counts)
    spare = 0 if ordered else 1  # (`_block_statistics`: a last label of its own, NaN)
    for low, high in blocks:
        # (one block: all of them, nothing selected)
        at = np.flatnonzero(ok) if len(blocks) == 1 else _rows_of(rows, ok, (rank >= low) & (rank < high))
        # the block's labels and values made with room for the spare at their end (appending it
        # copied both: ~9 bytes a value), the rows' indices let go before the statistics
        labels, values = np.empty(len(at) + spare, dtype=rank.dtype), np.empty(len(at) + spare)
        np.take(rank, rows.number[at], out=labels[:len(at)], mode="clip")  # ("clip": not buffered)
        np.take(rows.all_values, rows.positions[at], out=values[:len(at)], mode="clip")
        del at
        labels[len(labels) - spare:], values[len(values) - spare:] = len(rows), np.nan
        _block_statistics(labels, values, len(rows), ordered, group_of_label, out)
        del labels, values
    n = np.zeros(len(rows), dtype=np.int64)
    n[group_of_label] = counts  # (a group without successful values: 0)
    return {"n": n, **out}


def _rows_of(rows: _Rows, ok: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The successful rows (``ok``) of the groups ``wanted`` (a mask per group), ascending (32-bit
    where they fit), found `_PASS` rows at a time."""
    kind = np.dtype(np.int32 if len(ok) < 2**31 else np.int64)
    found: list[np.ndarray] = []
    for low in range(0, len(ok), _PASS):
        part = wanted[rows.number[low:low + _PASS]]
        part &= ok[low:low + _PASS]
        at: np.ndarray = np.flatnonzero(part).astype(kind)
        at += low
        found.append(at)
    return np.concatenate(found) if found else np.empty(0, dtype=kind)


def _block_statistics(labels: np.ndarray, values: np.ndarray, size: int, ordered: bool,
                      group_of_label: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """The statistics of the groups whose successful values are ``values`` (by label: ``labels``,
    all labels < ``size``), written into ``out`` at their groups. ``ordered``: whether all the
    groups' labels come sorted (pandas then sums by reduceat, else by Kahan: a block takes the
    whole's way, whichever its own labels would take). When not, ``labels`` and ``values`` end with
    a spare: label ``size``, value NaN (a label of its own takes pandas off reduceat, and is no
    group's value)."""
    count = len(labels) - (0 if ordered else 1)
    present = np.flatnonzero(np.bincount(labels[:count], minlength=size))
    # Grouped by a categorical of the labels: pandas takes its codes as they are (an array of labels
    # is hashed first, in a table sized for every row); the same sums, checked in tests/core/test_codes.py.
    by_label = pd.Categorical.from_codes(labels, categories=pd.RangeIndex(size + 1), validate=False)
    grouped = pd.Series(values, copy=False).groupby(by_label, observed=False, sort=True)  # (pandas 3 copies else)
    for name, figures in (("mean", grouped.mean()), ("std", grouped.std())):
        out[name][group_of_label[present]] = figures.to_numpy()[present]
    del grouped, by_label
    order = order_statistics(labels[:count], values[:count], size, quantile=0.95)
    present = group_of_label[order.labels]
    for name in ("median", "p95", "min", "max"):
        out[name][present] = getattr(order, name)


def _blocks(counts: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of labels (low, high) holding at most `_BLOCK` values each (``counts``: per label),
    or one label's where it alone holds more; one range of all labels when they fit."""
    ends = np.cumsum(counts)
    if not len(ends) or ends[-1] <= _BLOCK:
        return [(0, len(counts))]
    bounds = [0]
    while bounds[-1] < len(counts):
        before = int(ends[bounds[-1] - 1]) if bounds[-1] else 0
        bounds.append(max(int(np.searchsorted(ends, before + _BLOCK, side="right")), bounds[-1] + 1))
    return list(pairwise(bounds))


def _failures(rows: _Rows) -> np.ndarray:
    """Per group, how many distinct requests failed (a request's number stands for its id): the
    distinct (group, request) pairs of the failed rows, as one number each, sorted (`combine` of the
    two columns hashed them: ~3.5 bytes per measurement row at 10,000 files, 27,000 failed rows)."""
    failed = rows.failed()
    requests = len(rows.requests.first)
    pairs = rows.number[failed].astype(np.int64)
    pairs *= requests
    pairs += rows.requests.number[failed]
    del failed
    return np.bincount(distinct(pairs) // requests, minlength=len(rows))


def _warm(rows: _Rows, ok: np.ndarray, n: np.ndarray, cold_requests: np.ndarray) -> dict[str, np.ndarray]:
    """Per group, the count and median of its warm TTFT values (NaN where none); ``ok``: per row,
    whether it succeeded (``n``: per group, how many did); ``cold_requests``: per request (by
    number), whether it was a cold start. The TTFT rows are the successful rows of the TTFT groups
    (the metric is a group's key), found and worked out a block of whole groups at a time
    (`_BLOCK` successful values, `_rows_of`): masks of every row and the indices of every TTFT row
    kept across the blocks were ~3 bytes per measurement row at this step's peak (10,000 files)."""
    ttft = rows.columns["metric"].codes[rows.positions[rows.first]] == code_of(rows.columns["metric"], "ttft_ms")
    skip_cold = bool(cold_requests.any())
    warm_n, warm_median = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    groups = np.arange(len(rows))
    for low, high in _blocks(np.where(ttft, n, 0)):
        at = _rows_of(rows, ok, ttft & (groups >= low) & (groups < high))
        if skip_cold:
            at = at[~cold_requests[rows.requests.number[at]]]
        # (a group's order statistics are its own values' only: a block of groups gives the same)
        order = order_statistics(rows.number[at], rows.values(at), len(rows))
        del at
        warm_n[order.labels] = order.n
        warm_median[order.labels] = order.median
    return {"warm_n": warm_n, "warm_median": warm_median}


def _joined(rows: _Rows, name: str) -> pd.api.extensions.ExtensionArray:
    """Per group, its distinct non-empty texts of ``name``, sorted and joined by '; ' (NaN when none).
    The categories are sorted, so a group's codes in ascending order are its texts in sorted order."""
    column = rows.columns[name]
    texts = np.asarray(column.categories, dtype=object)
    width = len(texts) + 1
    empty = code_of(column, "")
    space = len(rows) * width
    # (group, code) as one number a row, in as few bytes as hold it, a block of rows at a time (no
    # array of every row's); the pairs found are kept in a table of a byte per pair (sorted as it is
    # read) where that is small, else as each block's distinct numbers
    # (at least 2 groups' worth: the type must hold ``width`` itself, which one group's bound does not)
    kind = narrowest(max(len(rows), 2) * width)
    seen = np.zeros(space + 1, dtype=bool) if space <= 8 * len(rows.positions) else None
    found: list[np.ndarray] = []
    for low in range(0, len(rows.positions), _BLOCK):
        codes = column.codes[rows.positions[low:low + _BLOCK]]
        key = rows.number[low:low + _BLOCK].astype(kind)
        key *= width
        key += codes
        key[codes == empty] = -1
        if seen is not None:
            seen[key] = True  # -1: the last entry, not a pair
        else:
            found.append(distinct(key))
    code_type, group_type = narrowest(width), narrowest(len(rows))
    if seen is not None:
        # each pair's text code and group, narrow, read off the table a block at a time: the pairs
        # as 8-byte numbers and their remainders were ~3 bytes per measurement row at 10,000 files
        # (~0.1 M pairs of a large archive's sources), at the step's peak
        codes_found, groups_found = [], []
        for low in range(0, space, _BLOCK):
            at = np.flatnonzero(seen[low:min(low + _BLOCK, space)])
            at += low
            codes_found.append((at % width).astype(code_type))
            groups_found.append((at // width).astype(group_type))
        del seen, at
        code, group = np.concatenate(codes_found), np.concatenate(groups_found)
        del codes_found, groups_found
    else:
        pairs = distinct(np.concatenate(found))
        pairs = pairs[pairs >= 0]
        code = (pairs % width).astype(code_type)
        pairs //= width
        group = pairs.astype(group_type)
        del pairs
    # (the pairs come sorted: each group's are a range of them, found by searching, not by counting
    # them in 8-byte numbers)
    bounds = np.searchsorted(group, np.arange(len(rows) + 1))
    counts = np.diff(bounds)
    joined = np.full(len(rows), np.nan, dtype=object)
    one = np.flatnonzero(counts == 1)
    joined[one] = texts[code[bounds[one]]]  # a group with one text (most): that text
    several = np.flatnonzero(counts > 1)
    if len(several):
        starts, ends = bounds[several], bounds[several + 1]
        made: dict[bytes, str] = {}  # groups of one configuration share their sources: one string each
        for g, lo, hi in zip(several.tolist(), starts.tolist(), ends.tolist(), strict=True):
            codes_of_group = code[lo:hi].tobytes()
            text = made.get(codes_of_group)
            if text is None:
                text = made[codes_of_group] = "; ".join(texts[code[lo:hi]].tolist())
            joined[g] = text
    return text_array(joined)


def _config_values(rows: _Rows) -> list[dict[str, str]]:
    """Each group's configuration as a mapping, parsed once per distinct configuration (each group
    gets its own dict)."""
    configs = rows.columns["config"]
    codes = configs.codes[rows.positions[rows.first]]
    texts = configs.categories.tolist()
    parsed = {code: config_values(texts[code]) for code in distinct(codes).tolist()}
    return [dict(parsed[code]) for code in codes.tolist()]


# Configurations selected by a pass over the codes each (`ValueIndex`) before the rows are ordered
# by configuration once: an analysis asks for a few dozen at most (~0.3 ms each at 10,000 files),
# charts for up to a few hundred.
_DIRECT = 32


class ValueIndex:
    """(model, metric, config) -> the successful, finite values of that configuration, for the noise
    tests. Only a few configurations are ever asked for: the first `_DIRECT` are selected by one
    pass over the frame's codes each (nothing per row is kept: ordering the rows once made ~26 bytes
    per measurement row at 10,000 files, the top of the step's peak, and kept 4 through the claim
    checks). Past those, the successful rows are ordered by configuration once (their positions, 4
    bytes a row at most archives' size), and a configuration's values are read off the frame when
    asked for. Either way what is found is kept. A configuration is found by its texts' codes (one
    number per configuration, sorted), not in a mapping of every configuration's texts (~1,000 on the
    real archive, ~0.2 ms to make)."""

    def __init__(self, measurements: pd.DataFrame) -> None:
        self._measurements = measurements
        self._found: dict[tuple[str, str, str], np.ndarray] = {}
        self._prepared = False
        self._rows = np.empty(0, dtype=np.int64)  # the successful rows, configuration by configuration
        self._values = np.empty(0)  # the frame's values (a view), while prepared
        self._codes: list[dict[str, int]] = []  # per column (model, metric, config): text -> code
        self._widths: list[int] = []
        self._keys = np.empty(0, dtype=np.int64)  # each configuration's number from its codes, ascending
        self._starts = self._ends = np.empty(0, dtype=np.int64)  # where each (in that order) is among the rows
        self._bounds: dict[tuple[str, str, str], tuple[int, int]] | None = None  # (numbers would overflow)
        self._selecting: _Selecting | None = None  # (`_selected`)

    def get(self, model: str, metric: str, config: str) -> np.ndarray:
        key = (model, metric, config)
        if key not in self._found:
            self._found[key] = self._select(key)
        return self._found[key]

    def release(self) -> None:
        """Forget the ordered rows (kept: what was found); they are made again if asked."""
        self._prepared, self._rows, self._values = False, np.empty(0, dtype=np.int64), np.empty(0)
        self._codes, self._bounds, self._selecting = [], None, None
        self._keys = self._starts = self._ends = np.empty(0, dtype=np.int64)

    def items(self) -> list[tuple[tuple[str, str, str], np.ndarray]]:
        """The configurations asked for so far."""
        return list(self._found.items())

    def _select(self, key: tuple[str, str, str]) -> np.ndarray:
        if not self._prepared and len(self._found) < _DIRECT:
            return self._selected(key)
        if not self._prepared:
            self._prepare()
        low, high = self._slice(key)
        return self._values[self._rows[low:high]]

    def _slice(self, key: tuple[str, str, str]) -> tuple[int, int]:
        if self._bounds is not None:
            return self._bounds.get(key, (0, 0))
        number = 0
        for text, codes, width in zip(key, self._codes, self._widths, strict=True):
            code = codes.get(text)
            if code is None:
                return 0, 0
            number = number * width + code
        at = int(np.searchsorted(self._keys, number))
        if at == len(self._keys) or self._keys[at] != number:
            return 0, 0
        return int(self._starts[at]), int(self._ends[at])

    def _selected(self, key: tuple[str, str, str]) -> np.ndarray:
        """One configuration's values by one pass over the codes (the rows `_prepare` would order
        first, in row order)."""
        if self._selecting is None:
            if self._measurements.empty:  # (asked once: ``DataFrame.empty`` costs ~3 µs a call)
                return np.empty(0)
            self._selecting = _Selecting(self._measurements)
        return self._selecting.values(key)

    def _prepare(self) -> None:
        """The successful, finite request and sample rows ordered by configuration (each in row
        order), once."""
        m = self._measurements
        rows = row_positions(m)
        values = self._values = column_array(m, "value", dtype="float64")
        columns = [coded(column_values(m, name)) for name in ("model", "metric", "config")]
        wanted = ~column_array(m, "failed", dtype=bool)[rows] & np.isfinite(values[rows])
        for column in columns:  # a missing text (code -1) is no configuration's
            wanted &= column.codes[rows] >= 0
        rows = rows[wanted]
        del wanted
        number, first = combine(*(column.codes[rows] for column in columns))
        counts = np.bincount(number, minlength=len(first))
        order = np.argsort(number, kind="stable")
        del number
        self._rows = rows[order].astype(np.int32 if len(m) < 2**31 else np.int64)
        texts = [column.categories.tolist() for column in columns]
        self._widths = [len(names) for names in texts]
        firsts = [column.codes[rows[first]] for column in columns]
        if math.prod(self._widths) < 2**62:
            self._codes = [{text: code for code, text in enumerate(names)} for names in texts]
            keys = np.zeros(len(first), dtype=np.int64)
            for codes, width in zip(firsts, self._widths, strict=True):
                keys *= width
                keys += codes
            by_key = np.argsort(keys)
            ends = np.cumsum(counts)
            self._keys, self._starts, self._ends = keys[by_key], (ends - counts)[by_key], ends[by_key]
        else:  # (more combinations than 64-bit numbers: a mapping of every configuration's texts)
            ends = np.cumsum(counts).tolist()
            names = [np.asarray(names, dtype=object)[codes].tolist()
                     for names, codes in zip(texts, firsts, strict=True)]
            self._bounds = {key: (0 if i == 0 else ends[i - 1], ends[i])
                            for i, key in enumerate(zip(*names, strict=True))}
        self._prepared = True


class _Selecting:
    """What `ValueIndex._selected` reads of a (non-empty) frame, taken out of it once: views of its
    arrays and of a categorical frame's codes (a text frame's are made once)."""

    def __init__(self, measurements: pd.DataFrame) -> None:
        m = measurements
        self.columns = [coded(column_values(m, name)) for name in ("model", "metric", "config")]
        # each column's codes, read once (``Categorical.codes`` makes a read-only view on every call)
        self.codes = [column.codes for column in self.columns]
        kinds = coded(column_values(m, "kind"))
        self.kinds = kinds.codes
        self.row_kinds = [i for i, kind in enumerate(kinds.categories.tolist()) if kind in ROW_KINDS]
        self.all_values = column_array(m, "value", dtype="float64")
        self.failed = column_array(m, "failed", dtype=bool)

    def values(self, key: tuple[str, str, str]) -> np.ndarray:
        """The successful, finite values of the request and sample rows of one configuration."""
        codes = [code_of(column, text) for column, text in zip(self.columns, key, strict=True)]
        if min(codes) < 0:
            return np.empty(0)
        # a mask of all three columns over every row (selecting the first column's rows and checking
        # the others at those only was slower at 10,000 files: each text is ~8% of its rows there,
        # and gathering them cost more than comparing 1-byte codes)
        wanted = self.codes[0] == codes[0]
        for column, code in zip(self.codes[1:], codes[1:], strict=True):
            wanted &= column == code
        rows = wanted.nonzero()[0]  # (np.flatnonzero: ~1 µs more, a ravel first)
        del wanted
        values = self.all_values[rows]
        keep = np.isfinite(values)
        keep &= ~self.failed[rows]
        kinds = self.kinds[rows]
        of_kind = kinds == -2  # (no kind: a row's code is -1 at least)
        for code in self.row_kinds:
            of_kind |= kinds == code
        keep &= of_kind
        return values[keep]


def value_index(measurements: pd.DataFrame) -> ValueIndex:
    """The successful values of each configuration, selected when asked for (`ValueIndex`)."""
    return ValueIndex(measurements)


def group_values(index: ValueIndex | None, *, model: str, metric: str, config: str) -> np.ndarray:
    """The successful values of one configuration (for a noise test); none without an index."""
    return np.empty(0) if index is None else index.get(model, metric, config)


def rows_of_kind(measurements: pd.DataFrame, kind: str, *, with_values: bool = False) -> pd.DataFrame:
    """The measurements of one kind, numbered from 0, with text columns instead of categoricals:
    ``as_texts(measurements.loc[measurements["kind"] == kind].reset_index(drop=True))``, taken
    column by column from arrays (one DataFrame, no frame of categoricals in between). With
    ``with_values``, a last column ``values``: each row's configuration as a mapping."""
    kinds = column_values(measurements, "kind")
    if isinstance(kinds, pd.Categorical):
        code = code_of(kinds, kind)
        wanted = kinds.codes == code if code >= 0 else np.zeros(len(kinds), dtype=bool)
    else:
        wanted = (measurements["kind"] == kind).to_numpy(dtype=bool)
    rows = np.flatnonzero(wanted)
    if not len(rows):  # (most archives have no aggregates)
        return _no_rows(measurements, with_values)
    columns: dict[str, Any] = {}
    for name, values in _column_values(measurements):
        if isinstance(values, pd.Categorical):
            codes = values.codes[rows]
            texts = np.asarray(values.categories, dtype=object)[codes]
            texts[codes < 0] = np.nan
            columns[str(name)] = text_array(texts)
        elif isinstance(values.dtype, np.dtype):  # (numpy, or datetimes/timedeltas: as ``to_numpy`` gives them)
            columns[str(name)] = np.asarray(values)[rows]
        else:
            columns[str(name)] = values.take(rows)
    if with_values:
        columns["values"] = np.empty(len(rows), dtype=object)
        columns["values"][:] = [config_values(c) for c in columns["config"].tolist()]
    return pd.DataFrame(columns, copy=False)  # (the arrays are its own; in the frame's column order)


def _column_values(frame: pd.DataFrame) -> list[tuple[Any, Any]]:
    """Each column's (name, values) in order, the values as the frame stores them (`column_values`:
    ``frame.items()`` made a Series of each, ~8 µs a column); through ``items()`` where a name is
    repeated (a numpy column's as its ndarray there too)."""
    if not frame.columns.is_unique:
        return [(name, column.to_numpy() if isinstance(column.array, pd.arrays.NumpyExtensionArray) else column.array)
                for name, column in frame.items()]
    return [(name, column_values(frame, name)) for name in frame.columns]


def _no_rows(measurements: pd.DataFrame, with_values: bool) -> pd.DataFrame:
    """`rows_of_kind` when no row is of the kind: empty columns of the types it gives, read off the
    frame's dtypes (taking each column out of the frame costs ~15 µs). The frame is made once per
    set of column names and types (`_empty_rows`) and each caller gets a shallow copy of its own:
    making ~16 empty columns was ~0.15 ms an analysis of most archives (which have no aggregates),
    the copy ~25 µs."""
    # (a categorical's categories are no part of what is made: its type is left out of the key, as
    # hashing it hashes every category)
    columns = tuple((str(name), _CATEGORICAL if isinstance(dtype, pd.CategoricalDtype) else dtype)
                    for name, dtype in zip(measurements.columns.tolist(), measurements.dtypes.tolist(), strict=True))
    try:
        made = _empty_rows(columns, with_values)
    except TypeError:  # (a type that cannot be hashed: made as it is)
        made = _empty_rows.__wrapped__(columns, with_values)
    return made.copy(deep=False)


_CATEGORICAL = "category"  # (`_no_rows`: any categorical column)


@lru_cache(maxsize=16)
def _empty_rows(columns: tuple[tuple[str, Any], ...], with_values: bool) -> pd.DataFrame:
    """The frame `_no_rows` gives for columns of these names and types (`_CATEGORICAL`: any categorical)."""
    out: dict[str, Any] = {}
    for name, dtype in columns:
        if isinstance(dtype, str) and dtype == _CATEGORICAL:
            out[name] = text_array(np.empty(0, dtype=object))
        elif isinstance(dtype, np.dtype):
            out[name] = np.empty(0, dtype=dtype)
        else:
            out[name] = pd.array([], dtype=dtype)
    if with_values:
        out["values"] = np.empty(0, dtype=object)
    return pd.DataFrame(out, copy=False)


def aggregate_rows(measurements: pd.DataFrame) -> pd.DataFrame:
    """The tools' own aggregates, one row each (with ``values``: the configuration as a mapping)."""
    return rows_of_kind(measurements, "aggregate", with_values=True)
