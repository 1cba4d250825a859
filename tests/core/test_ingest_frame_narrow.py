"""The frame's number columns are narrowed only where that keeps every value exactly
(`bot.core.ingest.frame`): ``n`` is float32 when it holds each count exactly, else float64."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.core.ingest.frame import _counts


@pytest.mark.parametrize("values", [[math.nan, 3.0, 0.0, 2.0**24, math.inf], [math.nan, math.nan], [], [40.0]])
def test_counts_held_exactly_are_float32(values: list[float]) -> None:
    column = np.array(values, dtype=np.float64)
    narrow = _counts(column)
    assert narrow.dtype == np.float32
    assert [v if v == v else "nan" for v in narrow.astype(np.float64).tolist()] == \
        [v if v == v else "nan" for v in values]


@pytest.mark.parametrize("odd", [0.1, 2.0**24 + 1, 1e39, 1.5e-50])
def test_a_value_float32_would_change_keeps_float64(odd: float) -> None:
    column = np.array([math.nan, 3.0, odd], dtype=np.float64)
    kept = _counts(column)
    assert kept.dtype == np.float64
    assert kept[1:].tolist() == [3.0, odd]
