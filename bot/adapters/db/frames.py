"""Conversions between what callers hand the store and what a database column can hold.

- measurements: the tidy DataFrame of `bot.core.types` <-> plain row dicts, both ways exact
  (column order, dtypes, NaN values, None in text columns) but for a lone surrogate (a JSON "\ud800"
  escape read without its pair), which UTF-8 cannot encode: stored as U+FFFD, as in JSON documents.
  The frame's index is not stored.
- JSON documents: plain JSON only. NaN and infinities have no JSON spelling (PostgreSQL rejects
  them), so they are stored as null; numpy scalars become Python numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bot.core.jsonsafe import strict_json
from bot.core.text import encodable
from bot.core.types import MEASUREMENT_COLUMNS, empty_measurements

TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in MEASUREMENT_COLUMNS if c not in ("row", "value", "failed", "n")
)
# Columns added after the first schema: a run stored before them has NULL there and reads back with
# these values (an unknown context is an empty one; a statistic is only set on aggregates).
LATER_DEFAULTS: dict[str, str] = {"context": "{}", "identifiers": "{}", "statistic": ""}


def measurement_rows(frame: pd.DataFrame, *, run_id: int) -> list[dict[str, Any]]:
    """Row dicts for a bulk insert. Raises ValueError when a column is missing or malformed."""
    missing = [c for c in MEASUREMENT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"measurements lack columns: {', '.join(missing)}")
    n = len(frame)
    if n == 0:
        return []
    columns: dict[str, list[Any]] = {}
    for col in TEXT_COLUMNS:
        columns[col] = [_text(v) for v in frame[col].tolist()]
    rows = frame["row"]
    if rows.isna().any():
        raise ValueError("measurements column 'row' holds missing values")
    try:
        columns["row"] = rows.astype("int64").tolist()
    except (TypeError, ValueError) as err:
        raise ValueError("measurements column 'row' must hold integers") from err
    failed = frame["failed"]
    flags = failed.tolist()
    if not all(isinstance(v, (bool, np.bool_)) for v in flags):
        raise ValueError("measurements column 'failed' must hold booleans only")
    columns["failed"] = [bool(v) for v in flags]
    try:
        values = frame["value"].astype("float64").tolist()
    except (TypeError, ValueError) as err:
        raise ValueError("measurements column 'value' must hold numbers") from err
    # SQLite would store NaN as NULL anyway; say so explicitly and do the same on every backend.
    columns["value"] = [None if math.isnan(v) else v for v in values]
    try:
        counts = frame["n"].astype("float64").tolist()
    except (TypeError, ValueError) as err:
        raise ValueError("measurements column 'n' must hold numbers") from err
    columns["n"] = [None if math.isnan(v) else v for v in counts]
    return [
        {"run_id": run_id, **{col: columns[col][i] for col in MEASUREMENT_COLUMNS}}
        for i in range(n)
    ]


def measurement_frame(records: Iterable[Sequence[Any]]) -> pd.DataFrame:
    """Build the tidy frame from rows holding the columns in `MEASUREMENT_COLUMNS` order."""
    data = list(records)
    if not data:
        return empty_measurements()
    template = empty_measurements()
    by_column = list(zip(*data, strict=True))
    return pd.DataFrame(
        {
            col: pd.Series(_column_values(col, values), dtype=template[col].dtype)
            for col, values in zip(MEASUREMENT_COLUMNS, by_column, strict=True)
        }
    )


def _column_values(col: str, values: Sequence[Any]) -> list[Any]:
    if col in ("value", "n"):
        return [math.nan if v is None else v for v in values]
    if col in LATER_DEFAULTS:
        default = LATER_DEFAULTS[col]
        return [default if v is None else v for v in values]
    return list(values)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def json_document(value: Any) -> Any:
    """A deep, plain-JSON copy of `value` (the caller's objects are never stored by reference)."""
    if value is None:
        return None
    try:
        # written unescaped, so that a lone surrogate is a character `encodable` finds (PostgreSQL refuses
        # its "\ud800" escape in a JSON document, a driver its UTF-8)
        return json.loads(encodable(json.dumps(strict_json(value), allow_nan=False, ensure_ascii=False)))
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot store as JSON: {err}") from err


    return value
