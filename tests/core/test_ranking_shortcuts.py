"""`rankings._medians` (one sort for every configuration's median) gives `median` of each, bit for bit."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from bot.core.analysis.rankings import _medians, median


def _bits(values: list[float]) -> list[str]:
    return [float(v).hex() if v == v else "nan" for v in values]


def test_medians_are_median_of_each() -> None:
    rng = random.Random(13)
    pools = [[1.0, 2.0, 3.0], [0.1, 0.2, 0.30000000000000004, 1e308, 1.7e308], [math.inf, -math.inf, 5.0],
             [0.0, -0.0, 1.0], [math.nan, 2.0], [-3.5, -1.25, 7.0, 7.0]]
    for _ in range(400):
        pool = rng.choice(pools)
        groups = [np.asarray([rng.choice(pool) if rng.random() < 0.5 else rng.uniform(-1e3, 1e3)
                              for _ in range(rng.randint(1, 9))], dtype="float64") for _ in range(rng.randint(0, 12))]
        with np.errstate(over="ignore", invalid="ignore"):  # (inf - inf, 1e308 + 1e308 in the reference)
            expected = [median(group) for group in groups]
        assert _bits(_medians(groups).tolist()) == _bits(expected)


def test_an_empty_group_is_refused_as_median_refuses_it() -> None:
    groups = [np.array([1.0, 3.0]), np.empty(0), np.array([5.0, 7.0, 9.0])]
    with pytest.raises(IndexError):
        median(groups[1])
    with pytest.raises(IndexError):
        _medians(groups)


def test_medians_of_one_value_each_are_median_of_each() -> None:
    # one value per configuration (a sweep of single runs) is its own median, but a zero: numpy's
    # median of -0.0 is 0.0
    rng = random.Random(14)
    for _ in range(400):
        pool = [0.0, -0.0, math.nan, math.inf, 2.5] if rng.random() < 0.5 else [2.5, 7.0]
        groups = [np.asarray([rng.choice([*pool, rng.uniform(-1e3, 1e3)])], dtype="float64")
                  for _ in range(rng.randint(1, 40))]
        assert _bits(_medians(groups).tolist()) == _bits([median(group) for group in groups])
    # integers: float medians, as `median` gives (and the sort's way for groups of other sizes)
    for groups in ([np.array([3]), np.array([-5])], [np.array([2**53 + 1])], [np.array([7], dtype=np.int8)] * 3,
                   [np.array([2**62, 2**62 + 2]), np.array([1, 2, 4])], [np.array([100, 120], dtype=np.int8)],
                   [np.array([2**53 + 1, 2**53 + 2]), np.array([5])]):
        found = _medians(groups).tolist()
        assert [type(value) for value in found] == [float] * len(groups), found
        assert _bits(found) == _bits([median(group) for group in groups])


def test_combined_is_combine() -> None:
    # `_combined` numbers a few rows' (config, context) code pairs by a dict: as `combine` does
    from bot.core.analysis.rankings import _FEW, _combined
    from bot.core.codes import combine

    rng = np.random.default_rng(21)
    for size in (0, 1, 2, 5, 46, 300, _FEW, _FEW + 1, 2000):
        for _ in range(20):
            config = rng.integers(-1, int(rng.integers(1, 40)), size).astype(rng.choice([np.int8, np.int16, np.int32]))
            context = rng.integers(-1, int(rng.integers(1, 300)), size).astype(np.int16)
            if rng.random() < 0.3:  # runs of one combination, as a file's rows come
                config, context = np.sort(config), np.sort(context)
            number, first = _combined(config, context)
            expected_number, expected_first = combine(config, context)
            assert number.dtype == expected_number.dtype and first.dtype == expected_first.dtype
            assert number.tolist() == expected_number.tolist() and first.tolist() == expected_first.tolist()
