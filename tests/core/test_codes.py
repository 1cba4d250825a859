"""`bot.core.codes.combine`: its run-counting path numbers rows exactly as its hash pass does."""

from __future__ import annotations

import numpy as np

from bot.core.codes import _hashed, combine


def _columns(rng: np.random.Generator, size: int, layout: int) -> list[np.ndarray]:
    columns = []
    for _ in range(int(rng.integers(1, 4))):
        if layout == 0:  # runs, each combination once (a request's metrics one after the other)
            column = np.repeat(rng.permutation(size), rng.integers(1, 4, size))[:size]
        elif layout == 1:  # runs whose combinations come back
            column = np.repeat(rng.integers(0, 5, size), 3)[:size]
        else:  # no runs; missing codes (-1) among them
            column = rng.integers(-1, 6, size)
            column[0] = 5
        columns.append(column.astype(rng.choice([np.int8, np.int32, np.int64])))
    return columns


def test_combine_counts_runs_as_the_hash_pass_numbers_them() -> None:
    rng = np.random.default_rng(7)
    for trial in range(3000):
        columns = _columns(rng, int(rng.integers(1, 60)), trial % 3)
        number, first = combine(*columns)
        expected_number, expected_first = _hashed(*columns)
        assert number.dtype == np.int64 and first.dtype == np.int64
        assert np.array_equal(number, expected_number)
        assert np.array_equal(first, expected_first)


def test_combine_of_nothing() -> None:
    number, first = combine(np.empty(0, dtype=np.int32))
    assert len(number) == 0 and len(first) == 0
