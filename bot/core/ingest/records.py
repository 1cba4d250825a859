"""Tables as plain records (one dict per row), typed exactly as pandas would type them.

Readers used to build one small DataFrame per table and read it back with ``to_dict("records")``;
at ~1,000 tables per archive the frames cost 20x the reading. These functions give the same
records without a frame: the values pandas' column inference would give (checked against pandas
in tests/core/test_ingest_records.py), because what a value looks like decides how a column is
judged (``0`` vs ``0.0`` in an error column, ``None`` vs NaN):

- columns in order of first appearance; a key a record lacks is NaN;
- a column of numbers (no booleans) that holds a float, NaN or None is float: ints become floats,
  None becomes NaN; ints alone stay ints (unless beyond 64 bits, then nothing is converted);
- a column of strings with missing values: None becomes NaN;
- every other column (booleans with gaps, mixed types, lists, only None) is left as it is.

CSV text is split by the `csv` module the way pandas' Python engine splits it (blank lines
skipped, short rows padded with NaN, long rows counted as bad lines); the few layouts pandas reads
differently (an unnamed or repeated header cell, a first row longer than the header: pandas then
makes an index of it) are left to pandas itself.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

NAN = math.nan
_MISSING = object()
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1

Record = dict[str, Any]


def records_of(items: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[Record]]:
    """(columns, records) of a list of dicts, as ``pd.DataFrame(items).to_dict("records")``."""
    if len(items) == 1:  # one record (a JSON object's scalars): every column holds one type, kept as is
        item = items[0]  # (a NaN as `_kind` tells it, without a call a value: only a float is unequal to itself)
        return list(item), [{name: NAN if type(value) is float and value != value else value
                             for name, value in item.items()}]
    columns = list(dict.fromkeys(key for item in items for key in item))
    if not columns:
        return [], [{} for _ in items]
    converted = {name: _column(items, name) for name in columns}
    return columns, [{name: converted[name][i] for name in columns} for i in range(len(items))]


def _column(items: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    values = [item.get(name, _MISSING) for item in items]
    types = set(map(type, values))
    if len(types) == 1 and (types <= _PLAIN_KINDS or (types == {float} and not any(map(math.isnan, values)))):
        return values  # one type, nothing missing (`_kind` of each value, told in C): kept as they are
    kinds = {_kind(v) for v in values}
    if len(kinds) == 1 and kinds <= {"int", "float", "str", "bool"}:
        return values  # one type, nothing missing: pandas keeps the values as they are
    if kinds == {"none"}:
        return values  # only None: an object column
    present = kinds - {"none", "missing", "nan"}
    if not present:  # None, NaN and gaps: a float column of NaN
        return [NAN] * len(values)
    if "other" in kinds:
        return [NAN if v is _MISSING else v for v in values]  # object column
    if present <= {"int", "float"}:
        if any(type(v) is int and not _INT64_MIN <= v <= _UINT64_MAX for v in values):
            return [NAN if v is _MISSING else v for v in values]
        return [NAN if v is _MISSING or v is None else float(v) for v in values]
    if present == {"str"}:
        return [NAN if v is _MISSING or v is None else v for v in values]
    return [NAN if v is _MISSING else v for v in values]


_PLAIN_KINDS = frozenset({int, str, bool})  # exact types `_kind` names after themselves (a float may be NaN)


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "none"
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int:
        return "int"
    if kind is float:
        return "nan" if value != value else "float"
    if kind is str:
        return "str"
    return "other"


class IrregularCsv(ValueError):
    """A layout `csv_records` leaves to pandas (its reading differs from a plain split)."""


def csv_records(text: str, delimiter: str) -> tuple[list[str], list[Record], int]:
    """(columns, records, number of bad lines) of CSV text, as pandas' Python engine reads it with
    ``dtype=str, keep_default_na=False, skipinitialspace=True`` and bad lines skipped.

    Raises `IrregularCsv` for layouts pandas reads differently, ``csv.Error`` for broken quoting."""
    # (the empty rows dropped in C; a row of one field is looked at only when there is one)
    rows = list(filter(None, csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)))
    if 1 in map(len, rows):
        rows = [row for row in rows if not _blank(row)]
    if not rows:
        raise IrregularCsv("no header")
    header = rows[0]
    width = len(header)
    if "" in header or len(set(header)) != width or (len(rows) > 1 and len(rows[1]) > width):
        raise IrregularCsv("header pandas renames, or an implicit index column")
    if set(map(len, rows)) == {width}:  # every row as wide as the header (most files): a dict each, in C
        return header, list(map(dict, map(zip, repeat(header), rows[1:]))), 0
    records: list[Record] = []
    bad = 0
    for row in rows[1:]:
        if len(row) > width:
            bad += 1
            continue
        record: Record = dict(zip(header, row, strict=False))
        if len(row) < width:
            record.update(dict.fromkeys(header[len(row):], NAN))
        records.append(record)
    return header, records, bad


def _blank(row: list[str]) -> bool:
    """A line pandas skips: no field, or a single field of whitespace."""
    return not row or (len(row) == 1 and not row[0].strip())
