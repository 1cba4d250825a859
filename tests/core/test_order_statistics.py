"""The one-sort statistics of the analysis (bot/core/analysis/requests.py) give the same bits as the
pandas and numpy calls they replace: the JSON carries medians and p95s as they are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.core.analysis.requests import describe, median, order_statistics


def _bits(values: np.ndarray | float) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


def test_median_is_numpys_median_to_the_bit() -> None:
    rng = np.random.default_rng(2)
    for t in range(5_000):
        n = int(rng.integers(1, 40))
        v = np.round(rng.normal(0, 3, n), int(rng.integers(0, 3)))  # rounding makes ties and zeros
        if t % 5 == 0:
            v[rng.integers(0, n)] = np.nan
        if t % 7 == 0:
            v = -v  # -0.0
        assert _bits(median(v)) == _bits(float(np.median(v))), v


def test_order_statistics_are_pandas_groupby_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    for t in range(600):
        size, n = int(rng.integers(1, 30)), int(rng.integers(1, 500))
        labels = rng.integers(0, size, n)
        v = np.round(rng.normal(0, 3, n), int(rng.integers(0, 3))) * rng.choice([1, -1])
        if t % 2:  # half the sets without zeros (the one-sort path), half with (pandas decides)
            v = v[v != 0]
            labels = labels[: len(v)]
        if not len(v):
            continue
        found = order_statistics(labels, v, size)
        groups = pd.Series(v).groupby(labels, sort=True)
        for mine, reference in ((found.median, groups.median()), (found.min, groups.min()),
                                (found.max, groups.max()), (found.p95, groups.quantile(0.95))):
            assert np.array_equal(_bits(mine), _bits(reference.to_numpy()))
        assert np.array_equal(found.n, groups.count().to_numpy())
        assert np.array_equal(found.labels, groups.count().index.to_numpy())


def test_describe_median_p95_min_and_max_are_numpys() -> None:
    rng = np.random.default_rng(1)
    for t in range(5_000):
        n = int(rng.integers(1, 60)) if t % 10 else int(rng.integers(1, 3000))
        v = rng.normal(100, 80, n) * rng.choice([1, 1e-3, 1e6, 1e-300, 1e300])
        if t % 4 == 0:
            v = np.round(v, 0)
        if t % 7 == 0:
            v = np.abs(v)
        with np.errstate(over="ignore", invalid="ignore"):
            found = describe(v)
            expected_median, expected_p95 = float(np.median(v)), float(np.percentile(v, 95))
        assert _bits(found["median"]) == _bits(expected_median)
        assert _bits(found["p95"]) == _bits(expected_p95)
        finite = v[np.isfinite(v)]  # (the extremes are the sort's ends: numpy's min and max)
        assert _bits(found["min"]) == _bits(float(finite.min())) and _bits(found["max"]) == _bits(float(finite.max()))


# Zeros that are all 0.0 (no -0.0) take the one-sort path too (`_negative_zero`): real results often
# record a 0. Sets rich in zeros, extremes and ties, to the bit against pandas and numpy; and a -0.0
# still goes to them.
_EXTREMES = [0.0, 0.0, 3.0, -3.0, 1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324,
             -5e-324, 0.1, -0.1]


def _positive_zeros(rng: np.random.Generator, n: int, t: int) -> np.ndarray:
    if t % 3 == 0:
        v = rng.choice(_EXTREMES, n)
    else:
        v = np.round(rng.normal(0, 3, n), int(rng.integers(0, 3))) * rng.choice([1, -1])
    v[v == 0] = 0.0  # (-0.0 -> 0.0)
    return v


def test_order_statistics_with_positive_zeros_are_pandas_groupby_to_the_bit() -> None:
    rng = np.random.default_rng(11)
    for t in range(800):
        size, n = int(rng.integers(1, 30)), int(rng.integers(1, 400))
        labels = rng.integers(0, size, n)
        v = _positive_zeros(rng, n, t)
        groups = pd.Series(v).groupby(labels, sort=True)
        with np.errstate(over="ignore", invalid="ignore"):
            found = order_statistics(labels, v, size)
            references = (groups.median(), groups.min(), groups.max(), groups.quantile(0.95))
        for mine, reference in zip((found.median, found.min, found.max, found.p95), references, strict=True):
            assert np.array_equal(_bits(mine), _bits(reference.to_numpy())), v


def test_median_and_describe_with_positive_zeros_are_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(12)
    for t in range(20_000):
        v = _positive_zeros(rng, int(rng.integers(1, 40)), t)
        with np.errstate(over="ignore", invalid="ignore"):
            found = describe(v)
            expected_median, expected_p95 = float(np.median(v)), float(np.percentile(v, 95))
            assert _bits(median(v)) == _bits(expected_median), v
        assert _bits(found["median"]) == _bits(expected_median), v
        assert _bits(found["p95"]) == _bits(expected_p95), v
        assert _bits(found["min"]) == _bits(float(v.min())) and _bits(found["max"]) == _bits(float(v.max()))


def test_a_negative_zero_is_left_to_numpy_and_pandas() -> None:
    # numpy's median of a lone -0.0 is 0.0 (its mean sums onto 0.0): the sort's pick would be -0.0
    v = np.array([-0.0, 1.0, -1.0])
    assert _bits(median(v)) == _bits(float(np.median(v))) == _bits(0.0)
    assert _bits(describe(v)["median"]) == _bits(0.0)
    found = order_statistics(np.zeros(3, dtype=np.int64), np.array([-0.0, 0.0, -0.0]), 1)
    reference = pd.Series([-0.0, 0.0, -0.0]).groupby([0, 0, 0]).median().to_numpy()
    assert np.array_equal(_bits(found.median), _bits(reference))


def test_median_of_integers_is_numpys() -> None:
    # numpy takes the mean of the two middle integers in float64: a sum in integers overflows (2**62
    # twice) or rounds otherwise (2**53 + 1 and + 2); small types overflow sooner (int8 100 + 120)
    for values in (np.array([2**62, 2**62 + 2]), np.array([2**53 + 1, 2**53 + 2]), np.array([100, 120], dtype=np.int8),
                   np.array([3, 1, 2, 4], dtype=np.uint8), np.array([-7]), np.array([True, False])):
        assert float(median(values)).hex() == float(np.median(values)).hex(), values
