"""`column_array` and `column_list` read a frame's column as ``frame[name].to_numpy(...)`` and
``frame[name].tolist()`` do, without the Series: the same values and types, and never a way to change
the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.core.analysis.claims import _Index
from bot.core.codes import column_array, column_list, column_values, from_codes


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "value": [1.5, np.nan, -0.0],
        "n": np.array([3, 0, 7], dtype=np.int64),
        "failed": [False, True, False],
        "text": pd.array(["a", None, "c"], dtype="str"),
        "kind": pd.Categorical(["request", "sample", None]),
        "raw": pd.Series(["x", None, 2.0], dtype=object),
        "at": pd.to_datetime(["2026-01-01", None, "2026-01-03"]),
        "spent": pd.to_timedelta([1, 2, None], unit="s"),
    })


@pytest.mark.parametrize("name", ["value", "n", "failed", "text", "kind", "raw", "at", "spent"])
@pytest.mark.parametrize("dtype", [None, object])
def test_the_values_are_those_of_the_series(name: str, dtype: object) -> None:
    frame = _frame()
    expected = frame[name].to_numpy(dtype=dtype)
    found = column_array(frame, name, dtype=dtype)
    assert found.dtype == expected.dtype
    assert [repr(x) for x in found.tolist()] == [repr(x) for x in expected.tolist()]
    assert [repr(x) for x in column_list(frame, name)] == [repr(x) for x in frame[name].tolist()]
    # never a writable view of the frame's own memory (review of s9-analysis: datetime, timedelta and
    # text columns were): a writable array is the caller's own, the frame does not change through it
    if found.flags.writeable:
        before = frame[name].copy()
        found[0] = found[1]
        pd.testing.assert_series_equal(frame[name], before)


def test_conversions_are_those_of_the_series() -> None:
    frame = _frame()
    assert column_array(frame, "failed", dtype=bool).tolist() == [False, True, False]
    assert column_array(frame, "n", dtype="float64").dtype == np.float64
    converted = column_array(frame, "n", dtype="float64")
    converted[0] = 99.0  # a conversion is a copy of its own
    assert frame["n"].tolist() == [3, 0, 7]


def test_the_frames_own_array_cannot_be_changed_through_it() -> None:
    frame = _frame()
    found = column_array(frame, "value")
    assert np.shares_memory(found, frame["value"].to_numpy())  # no copy ...
    with pytest.raises(ValueError):  # ... and read-only, as `to_numpy` hands it out under Copy-on-Write
        found[0] = 0.0
    assert frame["value"].tolist()[0] == 1.5


def test_a_missing_or_repeated_name_fails_as_pandas_does() -> None:
    frame = _frame()
    with pytest.raises(KeyError):
        column_array(frame, "absent")
    with pytest.raises(KeyError):
        column_list(frame, "absent")
    twice = pd.concat([frame[["n"]], frame[["n"]]], axis=1)
    assert column_array(twice, "n").tolist() == twice["n"].to_numpy().tolist()  # (both columns, as pandas)
    with pytest.raises(AttributeError):  # `frame[name]` is a frame then, which has no ``tolist``
        column_list(twice, "n")


def test_a_claims_metric_column_is_read_as_floats_with_nan_whatever_its_dtype() -> None:
    # `_Index.column`: a float column as it is (its missing values are NaN already), any other as
    # ``to_numpy(dtype="float64", na_value=nan)`` reads it (a nullable column's NA as NaN)
    frame = pd.DataFrame({"failed": [False, False, True], "model": ["m", "m", "m"], "source": ["a", "a", "b"],
                          "config": ["", "", ""], "ttft_ms": [1.0, np.nan, 3.0],
                          "throughput_tok_s": pd.array([2.0, None, 4.0], dtype="Float64"),
                          "latency_ms": np.array([5, 6, 7], dtype=np.int64)})
    index = _Index(frame, {})
    for name in ("ttft_ms", "throughput_tok_s", "latency_ms"):
        found = index.column(name)
        expected = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        assert found.dtype == np.float64
        assert np.array_equal(found, expected, equal_nan=True), name


@pytest.mark.parametrize("texts", [["b", "a", "c,d=1"], ["only"], ["b", 2, "a"], [1.5, 0.5], []])
def test_from_codes_is_the_categorical_pandas_makes_of_the_sorted_texts(texts: list[object]) -> None:
    # texts make their categories as a ``str`` Index at once; anything else as pandas infers it
    codes = np.array([i % len(texts) for i in range(7)] if texts else [], dtype=np.int64)
    try:
        order = sorted(range(len(texts)), key=texts.__getitem__)
    except TypeError:  # (texts and numbers do not sort together: as `from_codes` fails)
        with pytest.raises(TypeError):
            from_codes(codes, texts)  # type: ignore[arg-type]
        return
    rank = {old: new for new, old in enumerate(order)}
    expected = pd.Categorical.from_codes([rank[c] for c in codes.tolist()], categories=[texts[i] for i in order])
    found = from_codes(codes, texts)  # type: ignore[arg-type]
    assert found.dtype == expected.dtype
    assert found.categories.dtype == expected.categories.dtype
    assert found.categories.tolist() == expected.categories.tolist()
    assert found.codes.tolist() == expected.codes.tolist() and found.codes.dtype == expected.codes.dtype


class _WithoutStoredColumns(pd.DataFrame):
    """A frame without pandas' own column reader (as a pandas release that dropped it would be)."""

    _get_column_array = None  # type: ignore[assignment]


@pytest.mark.parametrize("name", ["value", "text", "kind"])
def test_without_pandas_own_reader_the_column_is_read_through_the_series(name: str) -> None:
    frame = _WithoutStoredColumns(_frame())
    expected = pd.DataFrame(frame)[name]
    assert [repr(x) for x in column_array(frame, name, dtype=object).tolist()] == [
        repr(x) for x in expected.to_numpy(dtype=object).tolist()]
    assert [repr(x) for x in column_list(frame, name)] == [repr(x) for x in expected.tolist()]


@pytest.mark.parametrize("name", ["value", "n", "failed", "text", "kind", "raw", "at", "spent"])
def test_column_values_are_the_series_values(name: str) -> None:
    # ``frame[name].array`` as the frame stores it: the same values and type, a numpy column as its
    # ndarray (where ``.array`` wraps it), never writable through
    frame = _frame()
    expected = frame[name].array
    found = column_values(frame, name)
    if isinstance(found, np.ndarray):
        assert isinstance(expected, pd.arrays.NumpyExtensionArray)
        assert found.dtype == expected.to_numpy().dtype
        assert not found.flags.writeable
    else:
        assert type(found) is type(expected) and found.dtype == expected.dtype
    def listed(values: object) -> list[str]:
        plain = values.to_numpy() if isinstance(values, pd.arrays.NumpyExtensionArray) else values
        return [repr(x) for x in plain.tolist()]  # type: ignore[attr-defined]

    assert listed(found) == listed(expected)
    without = column_values(_WithoutStoredColumns(_frame()), name)  # (through the Series)
    assert listed(without) == listed(expected)
    with pytest.raises(KeyError):
        column_values(frame, "absent")
