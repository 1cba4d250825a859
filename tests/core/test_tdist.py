"""The Student-t p-value without scipy (bot/core/tdist.py) against scipy.special.stdtr, the reference
it replaces on the analysis path (scipy stays a dependency of the regression detector)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import stdtr

from bot.core.tdist import two_sided_p


def _reference(t: float, df: float) -> float:
    return float(2 * stdtr(df, -abs(t)))


@pytest.mark.parametrize("max_df, tolerance", [(1e3, 1e-12), (1e5, 1e-11), (1e7, 1e-9)])
def test_agrees_with_scipy_over_the_range_welch_tests_reach(max_df: float, tolerance: float) -> None:
    """Welch's df lies between min(n)-1 and the sum of both n - 2; |t| from noise to 1e3 spreads."""
    rng = np.random.default_rng(15)
    worst = 0.0
    for _ in range(20_000):
        df = float(10 ** rng.uniform(0, math.log10(max_df)))
        t = float(10 ** rng.uniform(-6, 3)) * (1 if rng.random() < 0.5 else -1)
        expected = _reference(t, df)
        if expected < 1e-290:  # scipy goes subnormal where exp() here underflows to 0
            continue
        worst = max(worst, abs(two_sided_p(t, df) - expected) / expected)
    assert worst <= tolerance


@pytest.mark.parametrize("t, df", [(2.0, 1.0), (-3.1, 2.5), (30.0, 298.3), (2.2, 9.7), (1.0, 0.5), (1e-9, 7.0),
                                   (400.0, 3.0), (0.3, 1e6)])
def test_known_points(t: float, df: float) -> None:
    assert two_sided_p(t, df) == pytest.approx(_reference(t, df), rel=1e-12)


def test_edges() -> None:
    assert two_sided_p(0.0, 5.0) == 1.0
    assert two_sided_p(math.inf, 5.0) == 0.0
    assert two_sided_p(-math.inf, 5.0) == 0.0
    assert two_sided_p(2.0, math.inf) == pytest.approx(math.erfc(2.0 / math.sqrt(2.0)), rel=1e-15)
    for t, df in [(math.nan, 3.0), (1.0, math.nan), (1.0, 0.0), (1.0, -2.0)]:
        assert math.isnan(two_sided_p(t, df))
    assert two_sided_p(1e6, 2.0) == pytest.approx(_reference(1e6, 2.0), rel=1e-12)  # far tail keeps digits
    assert 0.0 < two_sided_p(50.0, 300.0) < 1e-100


@pytest.mark.parametrize("df", [1e9, 1e12, 1e15, 1e20, 1e300])
def test_beyond_what_a_welch_test_reaches_the_large_df_expansion_keeps_the_digits(df: float) -> None:
    for t in (0.5, 1.96, 5.0, 10.0):
        assert two_sided_p(t, df) == pytest.approx(_reference(t, df), rel=1e-11)
    assert all(0.0 <= two_sided_p(t, df) <= 1.0 for t in (1e-9, 1.0, 30.0, 1e3))
