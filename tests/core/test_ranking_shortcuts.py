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
