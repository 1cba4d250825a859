"""The memory-lean steps of the analysis (bot/core/analysis/groups.py, requests.py) give what the
plainer computations they replace give: group numbers as `combine` numbers the columns, order
statistics as pandas computes them, also past one block of rows and with narrow numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.core.analysis.groups import _numbered
from bot.core.analysis.requests import _STEP, narrowest, order_statistics
from bot.core.codes import combine


def _bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


def test_narrowest_holds_every_number_below_the_bound() -> None:
    for bound, expected in ((0, np.int8), (128, np.int8), (129, np.int16), (2**15, np.int16),
                            (2**15 + 1, np.int32), (2**31, np.int32), (2**31 + 1, np.int64)):
        assert narrowest(bound) == np.dtype(expected), bound


def _first_seen(keys: list[tuple[int, ...]]) -> tuple[list[int], list[int]]:
    """Each key's number in the order keys first occur, and where each first occurs."""
    numbers: dict[tuple[int, ...], int] = {}
    first: list[int] = []
    for i, key in enumerate(keys):
        if key not in numbers:
            numbers[key] = len(numbers)
            first.append(i)
    return [numbers[key] for key in keys], first


def test_group_numbers_are_combines_of_the_columns() -> None:
    rng = np.random.default_rng(5)
    for t in range(300):
        size = int(rng.integers(1, 400))
        # widths from a few (one byte of key) to many (a 32-bit key; numbers past one and two bytes)
        widths = [int(rng.choice([2, 5, 40, 300, 3000])) for _ in range(int(rng.integers(1, 5)))]
        codes = [rng.integers(-1 if t % 3 == 0 else 0, w, size).astype(np.int16) for w in widths]
        positions = np.sort(rng.choice(size, int(rng.integers(1, size + 1)), replace=False)).astype(np.int32)
        if t % 4 == 0:  # runs of one combination, as a request's rows come
            codes = [np.repeat(c[: size // 3 + 1], 3)[:size] for c in codes]
        number, first = _numbered(codes, positions)
        expected_number, expected_first = _first_seen(list(zip(*(c[positions].tolist() for c in codes), strict=True)))
        assert np.array_equal(number, expected_number)
        assert np.array_equal(first, expected_first)
        if t % 3:  # (codes of -1, a missing text, are told apart here; `combine` may fold them)
            assert np.array_equal(number, combine(*(c[positions] for c in codes))[0])
        assert number.dtype == narrowest(len(first))


def test_order_statistics_past_one_block_are_pandas_groupby() -> None:
    rng = np.random.default_rng(6)
    for size, labels_count in ((3 * _STEP + 17, 7), (_STEP + 1, 300), (40_000, 20_000)):
        labels = rng.integers(0, labels_count, size)
        values = np.round(rng.normal(50, 20, size), 3)
        values = values[values != 0]  # (without zeros: the one-sort path)
        labels = labels[: len(values)]
        found = order_statistics(labels, values, labels_count)
        groups = pd.Series(values).groupby(labels, sort=True)
        for mine, reference in ((found.median, groups.median()), (found.min, groups.min()),
                                (found.max, groups.max()), (found.p95, groups.quantile(0.95))):
            assert np.array_equal(_bits(mine), _bits(reference.to_numpy()))
        assert np.array_equal(found.n, groups.count().to_numpy())
