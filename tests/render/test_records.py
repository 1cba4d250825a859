"""`bot.render.report.records`: a frame's rows as dicts, as ``to_dict(orient="records")`` gives them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bot.render.report import records


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and (a is b or a == b)


@pytest.mark.filterwarnings("ignore:DataFrame columns are not unique")
@pytest.mark.parametrize("frame", [
    pd.DataFrame({"model": pd.array(["a", None, "c"], dtype="string"), "n": [1, 2, 3],
                  "median": [1.5, float("nan"), 3.0], "values": [{"k": "1"}, {}, {"k": "2"}],
                  "nullable": pd.array([1, None, 3], dtype="Int64"), "flag": [True, False, True],
                  "when": pd.to_datetime(["2025-01-01", "2025-01-02", None])}),
    pd.DataFrame({"text": pd.array(["a", None, "c"], dtype=pd.StringDtype(na_value=np.nan)),
                  "objects": [np.float64(1.5), np.int64(2), "x"], "unsigned": np.array([1, 2, 3], dtype="uint8"),
                  "floats32": np.array([0.1, float("nan"), 2.0], dtype="float32"), "boolean": pd.array(
                      [True, None, False], dtype="boolean"), "span": pd.to_timedelta([1, 2, 3], unit="s")}),
    pd.DataFrame({"a": pd.Series([], dtype="float64"), "b": pd.Series([], dtype="object")}),
    pd.DataFrame(index=[0, 1]),  # rows without columns
    pd.DataFrame([[1, 2]], columns=["x", "x"]),  # a repeated column name
], ids=["typed", "more-types", "empty", "no-columns", "repeated-column"])
def test_records_are_what_to_dict_gives(frame: pd.DataFrame) -> None:
    """The same keys in the same order, and values of the same types and values (NaN as NaN)."""
    expected = frame.to_dict(orient="records")
    got = records(frame)
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert list(row) == list(want)
        assert all(_same(row[k], want[k]) for k in want), (row, want)
