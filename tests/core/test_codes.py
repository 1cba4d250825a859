"""`bot.core.codes.combine`: its run-counting and table paths number rows exactly as its hash pass does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.core import codes
from bot.core.codes import _hashed, combine


def _columns(rng: np.random.Generator, size: int, layout: int) -> list[np.ndarray]:
    columns = []
    for _ in range(int(rng.integers(1, 4))):
        if layout == 0:  # runs, each combination once (a request's metrics one after the other)
            column = np.repeat(rng.permutation(size), rng.integers(1, 4, size))[:size]
        elif layout == 1:  # runs whose combinations come back
            column = np.repeat(rng.integers(0, 5, size), 3)[:size]
        elif layout == 2:  # few combinations, no runs (counted in a table)
            column = rng.integers(0, 4, size)
        else:  # no runs; missing codes (-1) among them
            column = rng.integers(-1, 6, size)
            column[0] = 5
        columns.append(column.astype(rng.choice([np.int8, np.int32, np.int64])))
    return columns


def test_combine_numbers_rows_as_the_hash_pass_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codes, "_DENSE_MIN", 4)  # small tables, so random cases reach every path
    monkeypatch.setattr(codes, "_AT_ONCE", 5)
    rng = np.random.default_rng(7)
    for trial in range(6000):
        columns = _columns(rng, int(rng.integers(1, 60)), trial % 4)
        number, first = combine(*columns)
        expected_number, expected_first = _hashed(*columns)
        assert number.dtype == np.int64 and first.dtype == np.int64
        assert np.array_equal(number, expected_number)
        assert np.array_equal(first, expected_first)


def test_narrow_combine_numbers_rows_the_same_in_the_narrowest_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """``combine(..., narrow=True)``: the same numbers, in as few bytes as hold them (each path)."""
    monkeypatch.setattr(codes, "_DENSE_MIN", 4)
    monkeypatch.setattr(codes, "_AT_ONCE", 5)
    rng = np.random.default_rng(8)
    for trial in range(3000):
        size = int(rng.integers(1, 60)) if trial % 5 else int(rng.integers(130, 400))  # (past 1 byte)
        columns = _columns(rng, size, trial % 4)
        number, first = combine(*columns, narrow=True)
        expected_number, expected_first = _hashed(*columns)
        assert number.dtype == codes.narrowest(len(first))
        assert np.array_equal(number, expected_number)
        assert np.array_equal(first, expected_first)


def test_distinct_counts_codes_in_a_table_or_hashes_them() -> None:
    """`codes._distinct` (does a combination occur twice?): one column of codes below twice its
    length is counted in a table, sparser codes and several columns are hashed; the same answer."""
    rng = np.random.default_rng(9)
    for trial in range(2000):
        size = int(rng.integers(1, 40))
        high = [size, 3 * size + 5000, 2**40][trial % 3]  # table; sparse (hashed); beyond any table
        columns = [rng.integers(0, high, size) for _ in range(1 + (trial % 7 == 0))]
        if trial % 2:  # distinct codes
            columns[0] = rng.choice(max(high, size), size, replace=False) if high < 10**6 else \
                rng.permutation(size) * (high // size)
        expected = len(set(zip(*(column.tolist() for column in columns), strict=True))) == size
        assert codes._distinct(*columns) == expected


def test_combine_of_nothing() -> None:
    number, first = combine(np.empty(0, dtype=np.int32))
    assert len(number) == 0 and len(first) == 0


def test_grouping_by_a_categorical_of_labels_gives_the_same_sums() -> None:
    """`bot.core.analysis.groups` groups by a categorical of its labels (no hash table): pandas'
    mean and std are the same bits as grouping by the labels themselves."""
    rng = np.random.default_rng(3)
    for trial in range(300):
        size, groups = int(rng.integers(1, 2000)), int(rng.integers(1, 40))
        labels = rng.integers(0, groups, size)
        if trial % 3 == 0:
            labels = np.sort(labels)
        values = rng.standard_normal(size) * 10.0 ** int(rng.integers(-5, 12)) + int(rng.integers(0, 3)) * 1e8
        if trial % 5 == 0:
            values = np.round(values, 1)
        by_array = pd.Series(values).groupby(labels, sort=True)
        by_codes = pd.Series(values).groupby(pd.Categorical.from_codes(labels, categories=pd.RangeIndex(groups)),
                                             observed=False, sort=True)
        present = np.bincount(labels, minlength=groups) > 0
        for name in ("mean", "std"):
            expected = getattr(by_array, name)().to_numpy()
            found = getattr(by_codes, name)().to_numpy()[present]
            assert np.array_equal(found, expected, equal_nan=True)
            assert np.array_equal(np.signbit(found), np.signbit(expected))


def test_a_missing_code_is_its_own_combination() -> None:
    # -1 (no text) after a column's codes: 1 * 2 + -1 was 0 * 2 + 1, two combinations numbered as one
    number, first = combine(np.array([1, 0]), np.array([-1, 1]))
    assert number.tolist() == [0, 1] and first.tolist() == [0, 1]
    rng = np.random.default_rng(5)
    for _ in range(200):
        size = int(rng.integers(1, 60))
        columns = [rng.integers(-1, int(rng.integers(1, 5)), size) for _ in range(int(rng.integers(2, 4)))]
        expected = pd.factorize(pd.Series(list(zip(*(c.tolist() for c in columns), strict=True))))[0]  # by the tuples
        assert combine(*columns)[0].tolist() == expected.tolist()
