"""Tables read as plain records give exactly what pandas gave (values and their types).

The readers no longer build a DataFrame per table; `bot.core.ingest.records` must type values as
pandas' column inference did, since the look of a value decides how a column is judged.
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot.core.ingest.records import IrregularCsv, csv_records, records_of
from tests.paths import REAL_ARCHIVE, REALWORLD, REPO_ROOT

_VALUES: list[Any] = [0, 1, -3, 2**40, 2**70, 0.0, 2.5, math.nan, math.inf, True, False, None, "", "x", "0",
                      "12.5", [1, 2], {"k": 1}]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _pandas(items: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    frame = pd.DataFrame(items)
    return [str(c) for c in frame.columns], frame.to_dict(orient="records")


def _assert_like_pandas(items: list[dict[str, Any]]) -> None:
    columns, records = records_of(items)
    want_columns, want = _pandas(items)
    if not want_columns:  # pandas gives no records for a frame without columns; nothing is read either way
        assert columns == []
        return
    assert columns == want_columns
    assert len(records) == len(want)
    for got, expected in zip(records, want, strict=True):
        for name in columns:
            assert _same(got[name], expected[name]), (items, name, got[name], expected[name])


def test_random_tables_are_typed_as_pandas_types_them() -> None:
    rng = random.Random(15)
    for _ in range(3000):
        names = rng.sample(["a", "b", "c", "d"], rng.randint(1, 4))
        pools = {name: rng.sample(_VALUES, rng.randint(1, 3)) for name in names}
        items = []
        for _row in range(rng.randint(1, 4)):
            item = {name: rng.choice(pools[name]) for name in names if rng.random() > 0.2}
            items.append(item)
        _assert_like_pandas(items)


@pytest.mark.parametrize("items", [
    [{"a": None}, {"a": None}],
    [{"a": None, "b": [1, 2]}, {"b": None}],
    [{"a": 2**70}, {"a": 1.5}],
    [{"a": 1, "b": 1.5}, {"a": 2, "b": math.nan}],
    [{"error": 0}, {}],
    [{"a": "1"}, {"a": None}, {}],
])
def test_known_corners(items: list[dict[str, Any]]) -> None:
    _assert_like_pandas(items)


def _pandas_csv(text: str, delimiter: str) -> tuple[list[str], list[dict[str, Any]], int]:
    bad: list[int] = []
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, engine="python",
                        on_bad_lines=lambda fields: bad.append(len(fields)), skipinitialspace=True)
    return [str(c) for c in frame.columns], frame.to_dict(orient="records"), len(bad)


def _assert_csv_like_pandas(text: str, delimiter: str = ",") -> bool:
    """True when the fast reader read it (the same as pandas), False when it left it to pandas."""
    try:
        columns, records, bad = csv_records(text, delimiter)
    except IrregularCsv:
        return False
    want_columns, want, want_bad = _pandas_csv(text, delimiter)
    assert (columns, bad) == (want_columns, want_bad)
    assert len(records) == len(want)
    for got, expected in zip(records, want, strict=True):
        assert all(_same(got[c], expected[c]) for c in columns), (got, expected)
    return True


@pytest.mark.parametrize("text", [
    "a,b,c\n1,2\n3,4,5,6\n,,\n  x , y,z\n\n   \n7,8,9\n",
    'a,b\n"x, y",2\n"multi\nline",3\n',
    "a,b\r\nNA,null\r\n",
    "model,tokens_s,error\ngemma3:270m,288.0,\n",
    # every row as wide as the header (read in C), around blank and whitespace lines, or none at all
    "a,b\n1,2\n  \n\n3,4\n", "a\n1\n \n\n2\n", "a,b\n", "a,b\n\n\n",
])
def test_csv_layouts_read_as_pandas_reads_them(text: str) -> None:
    assert _assert_csv_like_pandas(text)


@pytest.mark.parametrize("text", ["a,a\n1,2\n", "a,\n1,2\n", "a,b\n1,2,3\n"])
def test_layouts_pandas_reads_its_own_way_are_left_to_it(text: str) -> None:
    assert not _assert_csv_like_pandas(text)


def _csv_files() -> list[Path]:
    roots = [REPO_ROOT / "tests" / "fixtures", REPO_ROOT / "examples", REAL_ARCHIVE, REALWORLD]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.csv"))


def test_every_csv_file_at_hand_reads_as_pandas_reads_it() -> None:
    files = _csv_files()
    assert files
    for path in files:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        if "\x00" in text or not text.strip():
            continue
        try:
            _assert_csv_like_pandas(text)
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
