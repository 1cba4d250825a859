"""One file's measurement rows, column by column, as an adapter writes them.

A dict per row costs ~1 KB; a file's rows are kept as one list per column instead, and turned into
the archive's compact columns (`bot.core.ingest.frame`) as soon as the file is read. ``unit`` and
``config`` are not written here: the unit follows from the metric, and the configuration is derived
once the whole archive is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from bot.core.limits import spend_measurement


@dataclass(slots=True)
class Rows:
    """Measurement rows as parallel lists. ``fingerprint`` identifies a record's content ('' when
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

    def extend(self, other: Rows) -> None:
        for name in ROW_FIELDS:
            self.column(name).extend(other.column(name))

    def packed(self) -> PackedRows:
        """The same rows as arrays: each text column as its distinct texts and a code per row."""
        texts: dict[str, tuple[list[str], np.ndarray]] = {}
        for name in TEXT_FIELDS:
            column = self.column(name)
            local = {text: i for i, text in enumerate(dict.fromkeys(column))}
            texts[name] = (list(local), np.fromiter(map(local.__getitem__, column), dtype=np.int32, count=len(column)))
        numbers: dict[str, np.ndarray] = {name: np.asarray(self.column(name), dtype=dtype)
                                          for name, dtype in NUMBER_FIELDS.items()}
        return PackedRows(len(self), texts, numbers)


@dataclass(slots=True)
class PackedRows:
    """`Rows` as arrays (cheap to send between processes, small to keep)."""

    size: int
    texts: dict[str, tuple[list[str], np.ndarray]]
    numbers: dict[str, np.ndarray]

    def __len__(self) -> int:
        return self.size


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Rows))
NUMBER_FIELDS = {"row": np.int64, "value": np.float64, "failed": np.bool_, "n": np.float64}
TEXT_FIELDS = tuple(name for name in ROW_FIELDS if name not in NUMBER_FIELDS)
