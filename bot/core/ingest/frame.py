"""The archive's measurement frame, built once: every file's rows appended to one set of columns.

Each file's `Rows` are appended, as soon as the file is read, to archive-wide column buffers
(`array.array`: 4 bytes per text code, 8 per number, no Python object per row): texts as codes
into per-column tables of distinct texts, numbers as they are. A file is then a `Chunk`, its
range of positions; dropping some of its rows (a record exported twice) only clears them in a
keep mask. The frame is made at the end, one column at a time, each buffer released once its
column is made; text columns become categoricals whose categories are sorted (so grouping by
them orders groups as grouping by the texts did).

Texts unique to one file (request ids, identifiers, record fingerprints) are numbered per file and
merged once at the end, instead of being looked up in an archive-wide dict row after row; until
then they are kept as UTF-8 bytes (`FileTexts`), not as Python strings.

Memory is what this layout is for (10,000 files: ~0.6 M rows; bench/bench_ingest.py): nothing is
kept per row as a Python object while the archive is read, so no row's string outlives its file's
temporaries (which would keep their memory from being reused or returned), and codes are kept in
the narrowest integer type that holds them so far (`IntColumn`: one byte a row for a column of
few texts).
"""

from __future__ import annotations

import contextlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice, pairwise
from operator import itemgetter

import numpy as np
import pandas as pd

from bot.core.ingest.packed import PackedTexts, pack
from bot.core.ingest.rows import PackedRows
from bot.core.metrics import METRICS
from bot.core.types import CLAIM_COLUMNS, INGEST_COLUMNS, MEASUREMENT_COLUMNS, empty_claims

SHARED_TEXTS = ("source", "model", "metric", "error", "kind", "definition", "context", "statistic")
FILE_TEXTS = ("request_id", "identifiers", "fingerprint")  # mostly unique to their file
PACKED = "identifiers"  # kept packed, not in the frame (`bot.core.ingest.packed`)
NUMBERS = {"value": ("d", np.float64), "failed": ("b", np.bool_), "n": ("d", np.float64)}
# kept narrow while the archive is read (`IntColumn`); in the frame, this type (4 bytes a row less than
# int64: a record's index in its file is bounded by the file's size and rows, `bot.core.limits`), or
# int64 should a value not fit
INTEGERS = {"row": np.int32}
CODE = np.int32
_WIDER = {"b": "h", "h": "i", "i": "q"}
_LIMIT = {"b": 2**7, "h": 2**15, "i": 2**31, "q": 2**63}  # the first integer each type cannot hold
_UTF8 = ("utf-8", "surrogatepass")  # a lone surrogate (a JSON "\ud800" escape) round-trips
# files placed in the columns at once (`ColumnStore.add`): what waits is bounded (4,096 rows: ~0.5 MB)
_BATCH_FILES, _BATCH_ROWS = 256, 1 << 12
_DECODED_AT_ONCE = 4096  # texts decoded per step when the frame is made (bounds the temporary text)


class IntColumn:
    """Integers (codes and row numbers: 0 or more, -1 for none) appended file by file, in the
    narrowest array type that holds every one so far: copied once to a wider type when a larger
    one arrives."""

    def __init__(self) -> None:
        self.buffer = array("b")

    def __len__(self) -> int:
        return len(self.buffer)

    def extend(self, values: np.ndarray, top: int) -> None:
        """Append ``values``, none of them above ``top``."""
        if values.size:  # a value below the type's range would wrap as silently as one above it
            top = max(top, -int(values.min()) - 1)
        self.extend_codes(values, top)

    def extend_codes(self, values: np.ndarray, top: int) -> None:
        """Append ``values``, none of them below 0 (codes: not searched for a negative one) or above
        ``top``."""
        self._widen(top)
        self.buffer.frombytes(_raw(values.astype(self.buffer.typecode, copy=False)))

    def extend_mapped(self, mapping: list[int], local: np.ndarray, top: int) -> None:
        """Append ``mapping[code]`` for each code of ``local`` (``mapping`` 0 or more, none above
        ``top``). A file's rows often share one text (its source, its model): then the code is
        repeated without numpy (a few numpy calls per column and file were most of a small file's
        cost here)."""
        self._widen(top)
        if len(mapping) == 1:
            self.buffer.extend(array(self.buffer.typecode, mapping) * len(local))
        elif len(mapping):
            self.buffer.frombytes(_raw(np.array(mapping, dtype=self.buffer.typecode)[local]))

    def repeat(self, code: int, count: int) -> None:
        """Append ``code`` (0 or more) ``count`` times."""
        self._widen(code)
        self.buffer.extend(array(self.buffer.typecode, [code]) * count)

    def _widen(self, top: int) -> None:
        while top >= _LIMIT[self.buffer.typecode]:
            wider = _WIDER[self.buffer.typecode]
            self.buffer = array(wider, np.frombuffer(self.buffer, dtype=self.buffer.typecode).astype(wider).tobytes())

    def array(self) -> np.ndarray:
        """The integers, sharing the buffer (no copy)."""
        return np.frombuffer(self.buffer, dtype=self.buffer.typecode)


def _raw(values: np.ndarray) -> memoryview:
    """The array's bytes, not copied (what `array.frombytes` takes)."""
    return np.ascontiguousarray(values).data.cast("B")


class Strings:
    """The distinct texts of a column shared by many files, numbered in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def __len__(self) -> int:
        return len(self.values)

    def code(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.values)
            self.values.append(text)
        return found

    def mapping(self, distinct: list[str]) -> list[int]:
        """The archive-wide code of each of ``distinct`` (numbered here if new)."""
        index = self.index
        try:
            return list(map(index.__getitem__, distinct))  # most batches name no new text
        except KeyError:
            pass
        values = self.values
        for text in distinct:  # numbered in the order they come (no call per text: the first batch's are new)
            if text not in index:
                index[text] = len(values)
                values.append(text)
        return list(map(index.__getitem__, distinct))

    def texts(self, codes: Sequence[int]) -> list[str]:
        values = self.values
        return [values[code] for code in codes]

    def all(self) -> list[str]:
        return self.values


class FileTexts:
    """Texts numbered per file, kept as UTF-8 bytes and each one's end offset until the frame is
    made: a file's distinct texts are appended without an archive-wide lookup (a text found in two
    files gets two numbers; `categorical` merges them), and without a Python string per text (a
    request id costs ~60 bytes so, not ~110)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array("q")

    def __len__(self) -> int:
        return len(self.ends)

    def extend(self, texts: list[str]) -> int:
        """Append ``texts`` (one file's distinct texts, or several files' one after the other);
        the code of the first."""
        start = len(self.ends)
        joined = "".join(texts)
        if joined.isascii():  # one encoding for them all; a character is a byte
            self.ends.extend(islice(accumulate(map(len, texts), initial=len(self.data)), 1, None))
            self.data += joined.encode("ascii")
        else:
            encoded = [text.encode(*_UTF8) for text in texts]
            self.ends.extend(islice(accumulate(map(len, encoded), initial=len(self.data)), 1, None))
            self.data += b"".join(encoded)
        return start

    def code(self, text: str) -> int:
        raise TypeError("texts numbered per file have no archive-wide code")

    def texts(self, codes: Sequence[int]) -> list[str]:
        """The texts of ``codes`` (a file's: a short range of numbers, decoded at once)."""
        if not len(codes):
            return []
        low = min(codes)
        found = self._decoded(low, max(codes) + 1)
        return [found[code - low] for code in codes]

    def all(self) -> list[str]:
        """Every text, in code order (decoded a step at a time: no copy of them all at once)."""
        out: list[str] = []
        for low in range(0, len(self.ends), _DECODED_AT_ONCE):
            out.extend(self._decoded(low, min(low + _DECODED_AT_ONCE, len(self.ends))))
        return out

    def take_all(self) -> np.ndarray:
        """Every text, in code order, as an object array; the bytes are released as they are
        decoded, so the texts and their bytes are never held whole at once (10,000 files: ~15 B a
        row). Decoded from the end: a bytearray gives its memory back as it shrinks (once halved).
        The texts are gone from here afterwards."""
        out = np.empty(len(self.ends), dtype=object)
        high = len(self.ends)
        while high:
            low = max(0, high - _DECODED_AT_ONCE)
            out[low:high] = self._decoded(low, high)
            del self.data[self.ends[low - 1] if low else 0:], self.ends[low:]
            high = low
        self.data, self.ends = bytearray(), array("q")
        return out

    def packed(self, codes: np.ndarray) -> PackedTexts:
        """``codes`` into these texts, packed (`bot.core.ingest.packed.pack`); the texts are gone
        from here afterwards."""
        data, ends = self.data, self.ends
        self.data, self.ends = bytearray(), array("q")
        return pack(data, ends, codes)

    def _decoded(self, low: int, high: int) -> list[str]:
        """The texts numbered ``low`` to ``high - 1``."""
        start = self.ends[low - 1] if low else 0
        ends = self.ends[low:high]
        data = memoryview(self.data)[start:ends[-1]]
        whole = str(data, *_UTF8)
        bounds = [0, *(end - start for end in ends)]
        if len(whole) != len(data):  # not ASCII: byte offsets are not character offsets
            return [str(data[a:b], *_UTF8) for a, b in pairwise(bounds)]
        return [whole[a:b] for a, b in pairwise(bounds)]


def _joined(parts: list[tuple[list[str], np.ndarray]], counts: list[int], sizes: np.ndarray) -> np.ndarray:
    """The codes of a batch of files into their distinct texts put one after the other: each file's
    codes moved past the texts of the files before it."""
    offsets = np.repeat(np.cumsum([0, *counts[:-1]]), sizes)
    if all(count == 1 for count in counts):  # each file's rows all have its one text (code 0)
        return offsets
    return np.concatenate([local for _, local in parts]) + offsets


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
        self.strings: dict[str, Strings | FileTexts] = {name: Strings() for name in SHARED_TEXTS}
        self.strings.update({name: FileTexts() for name in FILE_TEXTS})
        self._ints: dict[str, IntColumn] = {name: IntColumn() for name in (*self.strings, *INTEGERS)}
        self._numbers: dict[str, array] = {name: array(code) for name, (code, _) in NUMBERS.items()}
        self._columns: dict[str, np.ndarray] = {}
        self._size = 0  # rows added, placed or not
        self._pending: list[PackedRows] = []  # files added but not yet placed in the columns
        self._placed = 0  # rows placed in the columns
        self.kept = np.ones(0, dtype=bool)
        self._trimmed: set[tuple[int, int]] = set()  # the chunks (start, stop) some of whose rows are dropped

    def __len__(self) -> int:
        return self._size

    def add(self, rows: PackedRows) -> Chunk:
        """Append one file's rows (while the archive is read). They are placed in the columns a batch
        of files at a time (`_place`): per file, only its texts are looked up; the array work is
        done once per batch, not once per column and file (~30 numpy calls a file were most of the
        cost of placing a small file's rows)."""
        start = self._size
        if len(rows):
            self._pending.append(rows)
            self._size += len(rows)
            if len(self._pending) >= _BATCH_FILES or self._size - self._placed >= _BATCH_ROWS:
                self._place()
        return Chunk(start, self._size)

    def _place(self) -> None:
        """Append the files added since the last call to the columns, in the order they came."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        sizes = np.array([len(rows) for rows in batch], dtype=np.int64)
        for name, strings in self.strings.items():
            parts = [rows.texts[name] for rows in batch]
            counts = [len(distinct) for distinct, _ in parts]
            if isinstance(strings, Strings):
                # each file's distinct texts' archive-wide codes, file after file (new texts are
                # numbered in the order they come, as they were file by file)
                mapping = strings.mapping([text for distinct, _ in parts for text in distinct])
                if len(set(mapping)) == 1:  # one text in every row of the batch (its kind, its error)
                    self._ints[name].repeat(mapping[0], self._size - self._placed)
                else:
                    self._ints[name].extend_mapped(mapping, _joined(parts, counts, sizes), len(strings) - 1)
            else:
                start = strings.extend([text for distinct, _ in parts for text in distinct])
                self._ints[name].extend_codes(_joined(parts, counts, sizes) + start, len(strings) - 1)
        for name in INTEGERS:
            values = np.concatenate([rows.numbers[name] for rows in batch])
            self._ints[name].extend(values, int(values.max()))
        for name, (code, _dtype) in NUMBERS.items():
            values = np.concatenate([rows.numbers[name] for rows in batch])
            self._numbers[name].frombytes(_raw(values.astype(code, copy=False)))
        self._placed = self._size

    def seal(self) -> None:
        """Every file is read: the buffers become (zero-copy) arrays for the passes over chunks."""
        self._place()
        self._columns = {name: column.array() for name, column in self._ints.items()}
        self._columns.update({name: np.frombuffer(buffer, dtype=NUMBERS[name][1])
                              for name, buffer in self._numbers.items()})
        self.kept = np.ones(len(self), dtype=bool)

    # --- reading chunks (after `seal`) -------------------------------------------------------
    def positions(self, chunk: Chunk) -> np.ndarray:
        """The chunk's positions still kept."""
        return chunk.start + np.flatnonzero(self.kept[chunk.start:chunk.stop])

    def values(self, chunk: Chunk, name: str) -> np.ndarray:
        """The chunk's kept values (read only: a view of the column when none is dropped, as for
        most files, so the passes over every file do not search the keep mask each time)."""
        column = self._columns[name]
        if (chunk.start, chunk.stop) not in self._trimmed:
            view = column[chunk.start:chunk.stop]
            view.flags.writeable = False  # (a write would change the column, not a copy)
            return view
        return column[self.positions(chunk)]

    def texts(self, chunk: Chunk, name: str) -> list[str]:
        return self.strings[name].texts(self.values(chunk, name).tolist())

    def column(self, name: str) -> np.ndarray:
        """The whole column, every row kept or not (read only; see `kept_any`)."""
        view = self._columns[name][:]
        view.flags.writeable = False
        return view

    def kept_any(self, chunk: Chunk, flags: np.ndarray) -> bool:
        """Whether ``flags`` (one per row of the archive) is set on one of the chunk's kept rows."""
        part = flags[chunk.start:chunk.stop]
        if (chunk.start, chunk.stop) in self._trimmed:
            part = part & self.kept[chunk.start:chunk.stop]
        return bool(part.any())

    def kept_any_each(self, chunks: Sequence[Chunk], flags: np.ndarray) -> list[bool]:
        """`kept_any` of each of ``chunks``, found at once: where the flagged kept rows are, then
        whether one falls in each chunk's range (two searches for them all: a few numpy calls per
        chunk were 2 µs a file, 0.15 ms of the real archive's 70). A row not kept is in a trimmed
        chunk, so the keep mask is only ever false where `kept_any` reads it."""
        flagged = np.flatnonzero(flags & self.kept)  # (8 bytes a flagged row, not a count a row)
        starts = np.fromiter((chunk.start for chunk in chunks), dtype=np.int64, count=len(chunks))
        stops = np.fromiter((chunk.stop for chunk in chunks), dtype=np.int64, count=len(chunks))
        found: list[bool] = (np.searchsorted(flagged, starts) < np.searchsorted(flagged, stops)).tolist()
        return found

    def keep(self, chunk: Chunk, indices: Sequence[int]) -> None:
        """Keep only the chunk's rows at ``indices`` (of its kept rows)."""
        positions = self.positions(chunk)
        self.kept[positions] = False
        self.kept[positions[np.asarray(indices, dtype=np.int64)]] = True
        self._trimmed.add((chunk.start, chunk.stop))

    def rename(self, chunk: Chunk, name: str, old: str, new: str) -> None:
        """Set the chunk's ``name`` texts ``old`` to ``new`` (a column of shared texts)."""
        strings = self.strings[name]
        old_code, new_code = strings.code(old), strings.code(new)
        column = self._columns[name]
        if new_code > np.iinfo(column.dtype).max:  # a new text past the narrow type's range
            column = self._columns[name] = column.astype(CODE)
        part = column[chunk.start:chunk.stop]
        part[part == old_code] = new_code

    # --- the frame ---------------------------------------------------------------------------
    def frame(self) -> tuple[pd.DataFrame, PackedTexts]:
        """The measurement frame (`bot.core.types`) of the kept rows but its `PACKED` column, and
        that column's texts packed (`bot.core.ingest.packed`: never made into Python strings), made
        one column at a time (each buffer is released once its column is made; the texts numbered
        per file last, when the other buffers are gone, each one's bytes released as its texts are
        decoded or packed). ``config`` is left '' (set by `bot.core.dimensions.assign_configs`)."""
        self._release("fingerprint")
        kept = None if self.kept.all() else self.kept
        data: dict[str, object] = {}
        packed = PackedTexts.empty()
        order = sorted(MEASUREMENT_COLUMNS, key=lambda name: name in FILE_TEXTS)
        for name in order:
            if name in NUMBERS or name in INTEGERS:
                column = self._take(name, kept)
                if name in INTEGERS:
                    column = _integers(column, INTEGERS[name])
                elif name == "n":
                    column = _counts(column)
                data[name] = column
            elif name == PACKED:
                codes = self._take(name, kept)
                strings = self.strings.pop(name)
                assert isinstance(strings, FileTexts)
                packed = strings.packed(codes)
                del codes, strings
            elif name in self.strings:
                codes = self._take(name, kept)
                strings = self.strings.pop(name)
                texts = strings.take_all() if isinstance(strings, FileTexts) else strings.all()
                del strings  # its bytes are gone before the categorical's own temporaries are made
                data[name] = categorical(codes, texts, merge=name in FILE_TEXTS, owned=True)
                del codes, texts
        self.kept = np.ones(0, dtype=bool)
        metric = data["metric"]
        assert isinstance(metric, pd.Categorical)
        units = [METRICS[m].unit for m in metric.categories]
        data["unit"] = categorical(metric.codes, units, merge=True)
        no_config = np.zeros(len(metric), dtype=np.int8)
        data["config"] = pd.Categorical.from_codes(no_config, dtype=_NO_CONFIG, validate=False)
        return pd.DataFrame({name: data[name] for name in INGEST_COLUMNS}, copy=False), packed

    def _take(self, name: str, kept: np.ndarray | None) -> np.ndarray:
        """The column's kept rows: the buffer itself when every row is kept (then only the column
        holds it), else a copy (and the buffer is released)."""
        column = self._columns.pop(name)
        self._release(name)
        return column if kept is None else column[kept]

    def _release(self, name: str) -> None:
        self._columns.pop(name, None)
        self._ints.pop(name, None)
        self._numbers.pop(name, None)
        if name == "fingerprint":
            self.strings.pop(name, None)


def _integers(column: np.ndarray, dtype: type[np.signedinteger]) -> np.ndarray:
    """The column in ``dtype``, or in int64 when one of its values does not fit ``dtype``."""
    if column.dtype.itemsize > np.dtype(dtype).itemsize:
        return column.astype(np.int64)
    return column.astype(dtype)


def _counts(column: np.ndarray) -> np.ndarray:
    """The ``n`` column (how many values an aggregate is computed from; NaN for every other row) in
    float32 when that holds each value exactly, as counts up to 2**24 are (4 bytes a row less), else
    as it is."""
    with np.errstate(over="ignore"):  # a value past float32's range becomes inf: not the same, kept wide
        narrow = column.astype(np.float32)
    same = narrow.astype(np.float64) == column
    if same.all() or (same | np.isnan(column)).all():
        return narrow
    return column


_NO_CONFIG = pd.CategoricalDtype(pd.Index([""], dtype=str))  # made once: pandas validates categories per call
_RENUMBERED_AT_ONCE = 1 << 16  # codes renumbered in place per step (bounds the temporary index)


def categorical(codes: np.ndarray, texts: Sequence[str] | np.ndarray, *, merge: bool = False,
                owned: bool = False) -> pd.Categorical:
    """A categorical of ``texts[code]`` per row, its categories sorted; ``merge`` when ``texts`` may
    repeat a text (numbered per file) or hold texts no row uses. ``owned``: ``codes`` is the
    caller's to overwrite (renumbered in place, not copied: a request id column is 4 bytes a row;
    so it must not be a view of an array still in use).

    The texts are sorted once (already nearly sorted for texts numbered per file in path order,
    which a stable sort does in ~linear time) and a text repeated is found next to its equal; the
    categories are made as an Index of ``str`` first, so pandas does not infer their type again."""
    values = texts if isinstance(texts, np.ndarray) else np.asarray(texts, dtype=object)
    if len(values) == 0:
        values = np.empty(0, dtype=object)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    del values
    if merge:
        first = np.ones(len(ordered), dtype=bool)  # the first of each run of equal texts
        first[1:] = ordered[1:] != ordered[:-1]
        group = np.cumsum(first) - 1  # each sorted text's number among the distinct texts
        used_text = np.zeros(len(order), dtype=bool)
        used_text[codes] = True
        used = np.zeros(int(group[-1]) + 1 if len(group) else 0, dtype=bool)
        used[group[used_text[order]]] = True  # the distinct texts some row uses
        first[first] = used
        categories = ordered[first]
        ranks = (np.cumsum(used) - 1)[group]
        del group, used_text, used, first
    else:
        categories, ranks = ordered, np.arange(len(ordered))
    del ordered
    rank = np.empty(len(order), dtype=CODE)
    rank[order] = ranks
    del order, ranks
    # no categories: an object Index, as pandas makes from an empty list
    dtype = pd.CategoricalDtype(_text_index(categories) if len(categories) else pd.Index([]))
    return pd.Categorical.from_codes(_renumbered(codes, rank, owned=owned), dtype=dtype, validate=False)


_STR = pd.Index([""], dtype=str).dtype  # what pandas makes of texts: stored as Python strings without pyarrow
_STR_ARRAY = _STR if isinstance(_STR, pd.StringDtype) and _STR.storage == "python" else None


def _text_index(texts: np.ndarray) -> pd.Index:
    """``pd.Index(texts, dtype=str)`` of an object array of distinct, non-missing texts: made from
    the texts as they are when each is a ``str`` (checked at once in C), as that Index holds them;
    converting them one by one cost ~15 µs a column (11 columns a frame). Anything else (a
    number: turned into its text; or pandas storing texts otherwise) goes through that
    conversion. ``texts`` is not copied."""
    if _STR_ARRAY is not None:
        with contextlib.suppress(ValueError):
            return pd.Index(pd.arrays.StringArray(texts, dtype=_STR_ARRAY), copy=False)
    return pd.Index(texts, dtype=str)


def _renumbered(codes: np.ndarray, rank: np.ndarray, *, owned: bool) -> np.ndarray:
    """``rank[codes]``: in place a step at a time when the codes are ``owned`` and their type
    holds every rank, else a new array."""
    if not owned or not len(codes) or len(rank) - 1 > np.iinfo(codes.dtype).max or not codes.flags.writeable:
        return rank[codes] if len(codes) else codes.astype(CODE)
    for low in range(0, len(codes), _RENUMBERED_AT_ONCE):
        part = codes[low:low + _RENUMBERED_AT_ONCE]
        part[:] = rank[part]
    return codes


# the claim texts many files repeat, each file's its own copies (the source is the file's path, already one)
SHARED_CLAIM_TEXTS = ("model", "config", "statistic", "context")


class ClaimColumns:
    """The archive's claims (numbers its files state about themselves), one list per column: a
    claim as a dict costs ~650 bytes, as list entries ~120. A file's claims are a `Chunk`."""

    def __init__(self) -> None:
        self.columns: dict[str, list[object]] = {name: [] for name in CLAIM_COLUMNS}
        # each text of these columns kept once: files of one tool state the same models, configurations
        # and labels ("vLLM mean_ttft_ms"), each file made its own copy (10,000 files: ~4 B a row)
        self._shared: dict[str, dict[object, object]] = {name: {} for name in SHARED_CLAIM_TEXTS}

    def add(self, claims: Sequence[dict[str, object]]) -> Chunk:
        """Append one file's claims (each a dict with every key of `CLAIM_COLUMNS`: KeyError else)."""
        start = len(self.columns["source"])
        if not claims:  # (most files state none)
            return Chunk(start, start)
        # the claims turned into columns in C (one tuple a claim, transposed), not a lookup per claim and
        # column from Python (70 files, 1,033 claims: 0.6 -> 0.4 ms)
        transposed = zip(*map(_CLAIM_FIELDS, claims), strict=True)
        for (name, column), values in zip(self.columns.items(), transposed, strict=True):
            shared = self._shared.get(name)
            column.extend(map(shared.setdefault, values, values) if shared is not None else values)
        return Chunk(start, start + len(claims))

    def models(self, chunk: Chunk) -> list[str]:
        return [str(model) for model in self.columns["model"][chunk.start:chunk.stop]]

    def name_model(self, chunk: Chunk, model: str) -> None:
        """The chunk's claims that name no model are ``model``'s."""
        column = self.columns["model"]
        for i in range(chunk.start, chunk.stop):
            column[i] = column[i] or model

    def frame(self) -> pd.DataFrame:
        """The claims frame, made once: the lists are released (emptied) as it is made."""
        columns, self.columns = self.columns, {name: [] for name in CLAIM_COLUMNS}
        self._shared = {name: {} for name in SHARED_CLAIM_TEXTS}
        if not columns["source"]:
            return empty_claims()
        # (its keys are CLAIM_COLUMNS in order: naming the columns again made pandas look each one up)
        return pd.DataFrame(columns)


_CLAIM_FIELDS = itemgetter(*CLAIM_COLUMNS)  # a claim's values, in the columns' order
