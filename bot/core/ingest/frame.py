"""The archive's measurement frame, built once: every file's rows appended to one set of columns.

Each file's `Rows` are appended, as soon as the file is read, to archive-wide column buffers
(`array.array`: 4 bytes per text code, 8 per number, no Python object per row): texts as codes
into per-column tables of distinct texts, numbers as they are. A file is then a `Chunk`, its
range of positions; dropping some of its rows (a record exported twice) only clears them in a
keep mask. The frame is made at the end, one column at a time, each buffer released once its
column is made; text columns become categoricals whose categories are sorted (so grouping by
them orders groups as grouping by the texts did).

Texts unique to one file (request ids, identifiers, record fingerprints) are numbered per file and
merged once at the end, instead of being looked up in an archive-wide dict row after row.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.core.ingest.rows import PackedRows
from bot.core.metrics import METRICS
from bot.core.types import CLAIM_COLUMNS, MEASUREMENT_COLUMNS, empty_claims

SHARED_TEXTS = ("source", "model", "metric", "error", "kind", "definition", "context", "statistic")
FILE_TEXTS = ("request_id", "identifiers", "fingerprint")  # mostly unique to their file
NUMBERS = {"row": ("q", np.int64), "value": ("d", np.float64), "failed": ("b", np.bool_), "n": ("d", np.float64)}
CODE = np.int32


class Strings:
    """The distinct texts of a column shared by many files, numbered in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.values)
            self.values.append(text)
        return found

    def codes(self, distinct: list[str], local: np.ndarray) -> np.ndarray:
        """Archive-wide codes of a file's codes into its ``distinct`` texts."""
        mapping = np.fromiter(map(self.code, distinct), dtype=CODE, count=len(distinct))
        return mapping[local]


class FileStrings(Strings):
    """Texts numbered per file: a file's distinct texts are appended without an archive-wide lookup
    (a text found in two files gets two numbers; `categorical` merges them)."""

    def codes(self, distinct: list[str], local: np.ndarray) -> np.ndarray:
        start = len(self.values)
        self.values.extend(distinct)
        return local + start

    def code(self, text: str) -> int:
        raise TypeError("texts numbered per file have no archive-wide code")


@dataclass
class Chunk:
    """One file's rows: the positions ``start:stop`` of the archive's columns."""

    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


class ColumnStore:
    """The archive's columns while it is read, then its measurement frame."""

    def __init__(self) -> None:
        self.strings: dict[str, Strings] = {name: Strings() for name in SHARED_TEXTS}
        self.strings.update({name: FileStrings() for name in FILE_TEXTS})
        self._buffers: dict[str, array] = {name: array("i") for name in self.strings}
        self._buffers.update({name: array(code) for name, (code, _) in NUMBERS.items()})
        self._columns: dict[str, np.ndarray] = {}
        self.kept = np.ones(0, dtype=bool)

    def __len__(self) -> int:
        return len(self._buffers["value"])

    def add(self, rows: PackedRows) -> Chunk:
        """Append one file's rows (while the archive is read)."""
        start = len(self)
        for name, strings in self.strings.items():
            distinct, local = rows.texts[name]
            self._buffers[name].frombytes(strings.codes(distinct, local).astype(CODE).tobytes())
        for name, (_code, dtype) in NUMBERS.items():
            self._buffers[name].frombytes(rows.numbers[name].astype(dtype).tobytes())
        return Chunk(start, len(self))

    def seal(self) -> None:
        """Every file is read: the buffers become (zero-copy) arrays for the passes over chunks."""
        self._columns = {name: np.frombuffer(buffer, dtype=NUMBERS[name][1] if name in NUMBERS else CODE)
                         for name, buffer in self._buffers.items()}
        self.kept = np.ones(len(self), dtype=bool)

    # --- reading chunks (after `seal`) -------------------------------------------------------
    def positions(self, chunk: Chunk) -> np.ndarray:
        """The chunk's positions still kept."""
        return chunk.start + np.flatnonzero(self.kept[chunk.start:chunk.stop])

    def values(self, chunk: Chunk, name: str) -> np.ndarray:
        return self._columns[name][self.positions(chunk)]

    def texts(self, chunk: Chunk, name: str) -> list[str]:
        values = self.strings[name].values
        return [values[code] for code in self.values(chunk, name).tolist()]

    def keep(self, chunk: Chunk, indices: Sequence[int]) -> None:
        """Keep only the chunk's rows at ``indices`` (of its kept rows)."""
        positions = self.positions(chunk)
        self.kept[positions] = False
        self.kept[positions[np.asarray(indices, dtype=np.int64)]] = True

    def rename(self, chunk: Chunk, name: str, old: str, new: str) -> None:
        """Set the chunk's ``name`` texts ``old`` to ``new`` (a column of shared texts)."""
        strings = self.strings[name]
        column = self._columns[name][chunk.start:chunk.stop]
        column[column == strings.code(old)] = strings.code(new)

    # --- the frame ---------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The measurement frame (`bot.core.types`) of the kept rows, made one column at a time
        (each buffer is released once its column is made). ``config`` is left '' (set by
        `bot.core.dimensions.assign_configs`)."""
        data: dict[str, object] = {}
        kept = self.kept
        for name in MEASUREMENT_COLUMNS:
            if name in NUMBERS:
                data[name] = self._take(name, kept)
            elif name in self.strings:
                codes = self._take(name, kept)
                data[name] = categorical(codes, self.strings.pop(name).values, merge=name in FILE_TEXTS)
        self._release("fingerprint")
        metric = data["metric"]
        assert isinstance(metric, pd.Categorical)
        units = [METRICS[m].unit for m in metric.categories]
        data["unit"] = categorical(metric.codes, units, merge=True)
        data["config"] = pd.Categorical.from_codes(np.zeros(len(metric), dtype=CODE), categories=[""])
        return pd.DataFrame({name: data[name] for name in MEASUREMENT_COLUMNS}, copy=False)

    def _take(self, name: str, kept: np.ndarray) -> np.ndarray:
        column = self._columns.pop(name)[kept]
        self._release(name)
        return column

    def _release(self, name: str) -> None:
        self._columns.pop(name, None)
        self._buffers.pop(name, None)


def categorical(codes: np.ndarray, texts: list[str], *, merge: bool = False) -> pd.Categorical:
    """A categorical of ``texts[code]`` per row, its categories sorted; ``merge`` when ``texts`` may
    repeat a text (numbered per file) or hold texts no row uses."""
    if merge:
        numbers, uniques = pd.factorize(np.asarray(texts, dtype=object), sort=True)
        if len(codes):
            used = np.zeros(len(uniques), dtype=bool)
            used[numbers[codes]] = True
            renumber = np.cumsum(used) - 1
            return pd.Categorical.from_codes(renumber[numbers[codes]].astype(CODE),
                                             categories=uniques[used].tolist())
        return pd.Categorical.from_codes(codes.astype(CODE), categories=[])
    order = np.argsort(np.asarray(texts, dtype=object), kind="stable")
    rank = np.empty(len(texts), dtype=CODE)
    rank[order] = np.arange(len(texts), dtype=CODE)
    return pd.Categorical.from_codes(rank[codes] if len(codes) else codes.astype(CODE),
                                     categories=[texts[i] for i in order])


class ClaimColumns:
    """The archive's claims (numbers its files state about themselves), one list per column: a
    claim as a dict costs ~650 bytes, as list entries ~120. A file's claims are a `Chunk`."""

    def __init__(self) -> None:
        self.columns: dict[str, list[object]] = {name: [] for name in CLAIM_COLUMNS}

    def add(self, claims: Sequence[dict[str, object]]) -> Chunk:
        start = len(self.columns["source"])
        for name, column in self.columns.items():
            column.extend(claim[name] for claim in claims)
        return Chunk(start, start + len(claims))

    def models(self, chunk: Chunk) -> list[str]:
        return [str(model) for model in self.columns["model"][chunk.start:chunk.stop]]

    def name_model(self, chunk: Chunk, model: str) -> None:
        """The chunk's claims that name no model are ``model``'s."""
        column = self.columns["model"]
        for i in range(chunk.start, chunk.stop):
            column[i] = column[i] or model

    def frame(self) -> pd.DataFrame:
        if not self.columns["source"]:
            return empty_claims()
        return pd.DataFrame(self.columns, columns=list(CLAIM_COLUMNS))
