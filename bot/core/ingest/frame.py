"""The archive's measurement frame, built once: compact columns per file, one concatenation at the end.

Each file's `Rows` become a `Chunk` as soon as the file is read: every text column as int32 codes
into one archive-wide `Strings` table per column (a source path, a context or a definition is
stored once however many rows carry it), numbers as numpy arrays. The measurement frame is then
made with one concatenation per column; its text columns are categoricals whose categories are
sorted (so grouping by them orders groups as grouping by the texts did). Memory grows with the
rows' numbers and the distinct texts, not with Python objects per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.core.ingest.rows import Rows
from bot.core.metrics import METRICS
from bot.core.types import MEASUREMENT_COLUMNS

TEXT_FIELDS = ("request_id", "source", "model", "metric", "error", "kind", "definition", "context", "identifiers",
               "statistic", "fingerprint")
NUMBER_FIELDS = {"row": np.int64, "value": np.float64, "failed": np.bool_, "n": np.float64}
CODE = np.int32


class Strings:
    """Every distinct text of one column, numbered in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.values)
            self.values.append(text)
        return found

    def codes(self, texts: Sequence[str]) -> np.ndarray:
        local = {text: self.code(text) for text in dict.fromkeys(texts)}  # a file repeats its few texts
        return np.fromiter(map(local.__getitem__, texts), dtype=CODE, count=len(texts))

    def texts(self, codes: np.ndarray) -> list[str]:
        values = self.values
        return [values[c] for c in codes.tolist()]

    def sorted(self) -> tuple[list[str], np.ndarray]:
        """The texts in sorted order, and each old code's new code."""
        order = sorted(range(len(self.values)), key=self.values.__getitem__)
        rank = np.empty(len(order), dtype=CODE)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=CODE)
        return [self.values[i] for i in order], rank


@dataclass
class Chunk:
    """One file's rows in compact columns (codes for texts, numbers as arrays)."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["metric"])

    def keep(self, positions: Sequence[int]) -> None:
        index = np.asarray(positions, dtype=np.int64)
        self.columns = {name: values[index] for name, values in self.columns.items()}


class ColumnStore:
    """The archive's text tables, shared by all its chunks."""

    def __init__(self) -> None:
        self.strings = {name: Strings() for name in TEXT_FIELDS}

    def chunk(self, rows: Rows) -> Chunk:
        columns = {name: self.strings[name].codes(rows.column(name)) for name in TEXT_FIELDS}
        for name, dtype in NUMBER_FIELDS.items():
            columns[name] = np.asarray(rows.column(name), dtype=dtype)
        return Chunk(columns)

    def texts(self, chunk: Chunk, name: str) -> list[str]:
        return self.strings[name].texts(chunk.columns[name])

    def code(self, name: str, text: str) -> int:
        return self.strings[name].code(text)

    def frame(self, chunks: Iterable[Chunk]) -> pd.DataFrame:
        """The measurement frame (`bot.core.types`): one concatenation per column. ``config`` is
        left '' (`bot.core.dimensions.assign_configs` sets it)."""
        parts = [c for c in chunks if len(c)]
        data: dict[str, object] = {}
        for name in MEASUREMENT_COLUMNS:
            if name in NUMBER_FIELDS:
                data[name] = _concatenate(parts, name, NUMBER_FIELDS[name])
            elif name in TEXT_FIELDS:
                data[name] = self._categorical(parts, name)
        metric = data["metric"]
        assert isinstance(metric, pd.Categorical)
        units = [METRICS[m].unit for m in metric.categories]
        data["unit"] = pd.Categorical(np.asarray(units, dtype=object)[metric.codes]) if len(metric) else \
            pd.Categorical([], categories=pd.Index([], dtype=object))
        data["config"] = pd.Categorical.from_codes(np.zeros(len(metric), dtype=CODE), categories=[""])
        return pd.DataFrame({name: data[name] for name in MEASUREMENT_COLUMNS}, copy=False)

    def _categorical(self, parts: list[Chunk], name: str) -> pd.Categorical:
        categories, rank = self.strings[name].sorted()
        codes = _concatenate(parts, name, CODE)
        return pd.Categorical.from_codes(rank[codes] if len(codes) else codes, categories=categories)


def _concatenate(parts: list[Chunk], name: str, dtype: type) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=dtype)
    return np.concatenate([part.columns[name] for part in parts]).astype(dtype, copy=False)
