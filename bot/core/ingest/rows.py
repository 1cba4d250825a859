"""One file's measurement rows, column by column, as an adapter writes them.

A dict per row costs ~1 KB; a file's rows are kept as one list per column instead, and turned into
the archive's compact columns (`bot.core.ingest.frame`) as soon as the file is read. ``unit`` and
``config`` are not written here: the unit follows from the metric, and the configuration is derived
once the whole archive is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from itertools import repeat
from typing import Any

import numpy as np

from bot.core.limits import spend_measurement, spend_measurements


@dataclass(slots=True)
class Rows:
    """Measurement rows as parallel lists (a record's own fields once a record in the spans of
    ``runs``: read the rows through `packed`). ``fingerprint`` identifies a record's content ('' when
    the tool gives none), to find the same record exported in two files."""

    request_id: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    row: list[int] = field(default_factory=list)
    model: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    failed: list[bool] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    definition: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    statistic: list[str] = field(default_factory=list)
    n: list[float] = field(default_factory=list)
    fingerprint: list[str] = field(default_factory=list)
    # The spans of rows added a record at a time (`add_columns` with ``per_record``), as (first row,
    # records, rows per record): in them each of RECORD_FIELDS (a record's id, row, model, failure, error,
    # context and identifiers: the same on all of its rows) is kept once a record, not once a row,
    # and `packed` repeats it on the record's rows. Those columns are then shorter than the others.
    runs: list[tuple[int, int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.metric)

    def __bool__(self) -> bool:
        return bool(self.metric)

    def column(self, name: str) -> list[Any]:
        column: list[Any] = getattr(self, name)
        return column

    def append(self, *, request_id: str, source: str, row: int, model: str, metric: str, value: float,
               failed: bool, error: str, kind: str, definition: str, context: str, identifiers: str,
               statistic: str, n: float, fingerprint: str) -> None:
        spend_measurement()  # past the job's budget the file is skipped, not read on (bot.core.limits)
        self.request_id.append(request_id)
        self.source.append(source)
        self.row.append(row)
        self.model.append(model)
        self.metric.append(metric)
        self.value.append(value)
        self.failed.append(failed)
        self.error.append(error)
        self.kind.append(kind)
        self.definition.append(definition)
        self.context.append(context)
        self.identifiers.append(identifiers)
        self.statistic.append(statistic)
        self.n.append(n)
        self.fingerprint.append(fingerprint)

    def add_columns(self, count: int, *, spent: bool = False, per_record: int = 1, **columns: Any) -> None:
        """``count`` rows at once (a table's, `bot.core.ingest.tables`), each column given whole: a list
        of its values, or one value every row has. Extending the lists is C work; appending the
        rows one by one costs ~1.5 µs a row (0.8 s of the 600,000 rows of 10,000 files). ``spent``: the
        caller charged the job's budget for these rows already, as it made them. ``per_record``: the
        rows are ``count / per_record`` records of that many rows each, and each of RECORD_FIELDS is
        given once a record (a list of a value per record): it is one value on all of a record's
        rows (the caller's promise), kept once (not repeated ``per_record`` times to be read back
        once a record by `packed`: a request table's ids, contexts, … were a third of its reading)."""
        if columns.keys() != _FIELD_SET:
            raise TypeError(f"columns {sorted(columns.keys() ^ _FIELD_SET)} missing or unknown")
        records = count
        if per_record > 1:
            if count % per_record:
                raise ValueError(f"{count} rows are no whole number of records of {per_record} rows")
            records = count // per_record
            self.runs.append((len(self), records, per_record))
        if not spent:
            spend_measurements(count)  # past the job's budget the file is skipped (bot.core.limits)
        for name in ROW_FIELDS:
            given = columns[name]
            length = records if name in RECORD_FIELDS else count
            if type(given) is list:
                if len(given) != length:
                    raise ValueError(f"column {name!r} has {len(given)} values for {length} "
                                     + ("records" if length != count else "rows"))
                self.column(name).extend(given)
            else:
                self.column(name).extend(repeat(given, length))

    def packed(self) -> PackedRows:
        """The same rows as arrays: each text column as its distinct texts and a code per row."""
        texts: dict[str, tuple[list[str], np.ndarray]] = {}
        size = len(self)
        # how many rows each value of a RECORD_FIELDS column covers (one number when all cover alike)
        repeats = self._repeats() if self.runs else 1  # (read only where there are spans)
        zeros: np.ndarray | None = None  # the codes of a column of one text, shared by all such columns
        for name in TEXT_FIELDS:
            column = self.column(name)
            if size and column[-1] == column[0] and column.count(column[0]) == len(column):
                # one text in every row (a file's source, kind, statistic, mostly its error too): one
                # C pass that compares (most often the same object), instead of a lookup a row. Its
                # codes are all 0: one read-only array serves every such column of the file (half
                # its columns: an array each was a tenth of a small file's packing)
                if zeros is None:
                    zeros = np.zeros(size, dtype=np.int32)
                    zeros.flags.writeable = False
                texts[name] = ([column[0]], zeros)
                continue
            distinct = list(dict.fromkeys(column))
            if len(distinct) == len(column):  # each text once (a record's id, its context): the i-th is code i
                codes = np.arange(len(column), dtype=np.int32)
            else:
                local = dict(zip(distinct, range(len(distinct)), strict=True))
                codes = np.fromiter(map(local.__getitem__, column), dtype=np.int32, count=len(column))
            if self.runs and name in RECORD_FIELDS:
                codes = np.repeat(codes, repeats)  # a record's code on each of its rows
            texts[name] = (distinct, codes)
        numbers: dict[str, np.ndarray] = {}
        for name, dtype in NUMBER_FIELDS.items():
            values: np.ndarray = np.asarray(self.column(name), dtype=dtype)
            numbers[name] = np.repeat(values, repeats) if self.runs and name in RECORD_FIELDS else values
        return PackedRows(size, texts, numbers)

    def _repeats(self) -> int | np.ndarray:
        """How many rows each value of a RECORD_FIELDS column covers: a record's rows in the spans of
        records (`runs`), one elsewhere (one number when all cover alike)."""
        size = len(self)
        if len(self.runs) == 1 and self.runs[0][0] == 0 and self.runs[0][1] * self.runs[0][2] == size:
            return self.runs[0][2]  # a file of one table of records
        repeats: list[int] = []
        at = 0
        for start, records, per_record in self.runs:
            repeats.extend(repeat(1, start - at))  # rows added one by one before the span
            repeats.extend(repeat(per_record, records))
            at = start + records * per_record
        repeats.extend(repeat(1, size - at))
        return np.asarray(repeats, dtype=np.int64)


@dataclass(slots=True)
class PackedRows:
    """`Rows` as arrays (cheap to send between processes, small to keep)."""

    size: int
    texts: dict[str, tuple[list[str], np.ndarray]]
    numbers: dict[str, np.ndarray]

    def __len__(self) -> int:
        return self.size


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Rows) if f.name != "runs")
NUMBER_FIELDS = {"row": np.int64, "value": np.float64, "failed": np.bool_, "n": np.float64}
TEXT_FIELDS = tuple(name for name in ROW_FIELDS if name not in NUMBER_FIELDS)
_FIELD_SET = set(ROW_FIELDS)
# The fields of a row that are its record's, kept once a record in the spans `Rows.add_columns` with
# ``per_record`` adds
RECORD_FIELDS = frozenset({"request_id", "row", "model", "failed", "error", "context", "identifiers"})
