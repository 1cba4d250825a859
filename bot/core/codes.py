"""Text columns as integer codes: what grouping by several text columns at once is computed on.

The measurement frame's text columns are categoricals (`bot.core.ingest.frame`); a frame read back
from the database has plain text columns. Both are handled here the same way: `categorical` gives
a column's codes over sorted categories, `combine` numbers the distinct combinations of several
columns in the order they first occur, so a loop runs once per distinct combination, never per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

UNNAMED_MODEL = "(model not stated)"


def group_model(model: str, source: str) -> str:
    """The name a model's rows are grouped under: its own, or for unnamed rows one per source file."""
    return model if model else f"{UNNAMED_MODEL} {source}"


def categorical(column: pd.Series | pd.api.extensions.ExtensionArray | np.ndarray) -> pd.Categorical:
    """The column as a categorical whose categories are sorted (a view when it already is one).
    Whether they are is asked of pandas, which keeps the answer with the categories: asking again
    about the same frame's column costs nothing (a check in Python cost ~1 µs a category, every
    call; categories are distinct, so increasing is sorted)."""
    values = column.array if isinstance(column, pd.Series) else column
    if isinstance(values, pd.Categorical):
        if values.categories.is_monotonic_increasing:
            return values
        return values.reorder_categories(sorted(values.categories))
    return pd.Categorical(np.asarray(values, dtype=object))


def sorted_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """`categorical`'s codes and categories (sorted; -1 where missing) of a text column: a plain
    column is factorized as an object array (half the cost of making a categorical of it)."""
    if isinstance(column.array, pd.Categorical):
        values = categorical(column)
        return values.codes, values.categories.tolist()
    codes, texts = pd.factorize(column.to_numpy(dtype=object), sort=True)
    return codes, texts.tolist()


def from_codes(codes: np.ndarray, texts: Sequence[str]) -> pd.Categorical:
    """A categorical of ``texts[code]`` per row, with its categories sorted (``texts`` distinct)."""
    order = sorted(range(len(texts)), key=texts.__getitem__)
    rank = np.empty(len(texts), dtype=np.int32)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(texts), dtype=np.int32)
    new = rank[codes] if len(codes) else np.asarray(codes, dtype=np.int32)
    categories = [texts[i] for i in order]
    if categories and all(type(text) is str for text in categories):
        # texts: the ``str`` Index pandas would infer from them, made as one (inferring their type, then
        # checking each is a text, cost ~100 µs of a few hundred configurations; assign_configs and the
        # analysis' grouped models make one each)
        dtype = pd.CategoricalDtype(pd.Index(categories, dtype=str))
        return pd.Categorical.from_codes(new, dtype=dtype, validate=False)
    return pd.Categorical.from_codes(new, categories=categories)


def grouped_models(model: pd.Series | pd.api.extensions.ExtensionArray | np.ndarray,
                   source: pd.Series | pd.api.extensions.ExtensionArray | np.ndarray) -> pd.Categorical:
    """Each row's model as grouped (`group_model`): unnamed rows apart per source file (the columns as
    Series or as their values, `column_values`)."""
    models = categorical(model)
    categories = models.categories.tolist()
    if "" not in categories:
        return models
    unnamed = models.codes == categories.index("")
    if not unnamed.any():
        return models
    sources = categorical(source)
    texts = list(categories)
    index = {text: i for i, text in enumerate(texts)}
    source_names = sources.categories.tolist()
    renamed = np.zeros(len(source_names), dtype=np.int64)
    for code in np.unique(sources.codes[unnamed]).tolist():
        name = group_model("", source_names[code])
        if name not in index:
            index[name] = len(texts)
            texts.append(name)
        renamed[code] = index[name]
    codes = models.codes.astype(np.int64)
    codes[unnamed] = renamed[sources.codes[unnamed]]
    return from_codes(codes, texts)


def combine(*columns: np.ndarray, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(each row's combination number, the first row of each combination); combinations are
    numbered in the order they first occur. The numbers are 64-bit, or with ``narrow`` in as few
    bytes as hold them (`narrowest`: made so where they can be, not 8 bytes a row first).

    Memory is what this is written for (~0.6 M rows at 10,000 files; pandas' hash table is sized
    for every row, ~36 bytes a row, however few the combinations): rows that come in runs of one
    combination (a request's metrics one after the other), no combination in two runs, are numbered
    by counting where runs start; codes whose combinations are few enough to count in a table are
    numbered through that table (`_dense`); anything else by one hash pass."""
    size = len(columns[0])
    if not size:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.zeros(size, dtype=bool)  # where a run starts
    starts[0] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    if 2 * int(np.count_nonzero(starts)) <= size:
        first = np.flatnonzero(starts)
        if _distinct(*(column[first] for column in columns)):
            number = np.cumsum(starts, dtype=narrowest(len(first) + 1) if narrow else np.int64)
            number -= 1
            return number, first
    del starts
    number, first = _numbered(*columns, narrow=narrow)
    return (number.astype(narrowest(len(first)), copy=False) if narrow else number), first


def _distinct(*columns: np.ndarray) -> bool:
    """Whether no combination occurs twice. One column of codes below twice its length is counted in
    a table of its codes (8 bytes a code): hashing them (`_numbered`, codes a little sparser than
    their rows) made ~80 bytes a combination, the peak of `bot.core.analysis.requests.RequestRows`
    at 10,000 files (~18 bytes a measurement row)."""
    if len(columns) == 1 and len(columns[0]):
        column = columns[0]
        if int(column.min()) >= 0 and int(column.max()) < 2 * len(column) + _DENSE_MIN:
            return int(np.bincount(column).max()) <= 1
    return len(_numbered(*columns)[1]) == len(columns[0])


def _numbered(*columns: np.ndarray, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`combine` without looking for runs: through a table when the combinations are few enough,
    else by a hash pass."""
    size = len(columns[0])
    widths = [int(column.max()) + 1 for column in columns]
    space = int(np.prod(widths, dtype=object))
    if space <= max(size, _DENSE_MIN) and all(int(column.min()) >= 0 for column in columns):
        key = np.asarray(columns[0], dtype=np.int64).copy() if len(columns) > 1 else columns[0]
        for column, width in zip(columns[1:], widths[1:], strict=True):
            key *= width
            key += column
        return _dense(key, space, narrow)
    return _hashed(*columns)


_DENSE_MIN = 1 << 12  # small inputs may use a table somewhat longer than they are (cheaper than hashing)
_AT_ONCE = 1 << 16  # rows per step of `_dense` (bounds its temporary positions)


def _dense(key: np.ndarray, space: int, narrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`combine` of keys 0 <= key < space: each key's first row from a table of ``space`` entries."""
    size = len(key)
    first_at = np.full(space, size, dtype=np.int64)
    for low in range(0, size, _AT_ONCE):
        high = min(low + _AT_ONCE, size)
        np.minimum.at(first_at, key[low:high], np.arange(low, high))
    first = np.sort(first_at[first_at < size])
    del first_at
    numbering = np.zeros(space, dtype=narrowest(len(first)) if narrow else np.int64)
    numbering[key[first]] = np.arange(len(first))
    return numbering[key], first


def _hashed(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`combine` by one hash pass over every row."""
    if not len(columns[0]):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    key = np.asarray(columns[0], dtype=np.int64).copy()
    for column in columns[1:]:
        # codes from -1 (no text) up: shifted by one, so that -1 is not the last code of the key
        # before (key * width - 1 == (key - 1) * width + width - 1)
        width = int(column.max()) + 2
        if int(key.max()) >= 2**62 // width:  # renumber before the product could overflow
            key = pd.factorize(key)[0].astype(np.int64)
        key *= width
        key += column
        key += 1
    number, _ = pd.factorize(key)
    del key
    seen = np.maximum.accumulate(number)
    first = np.flatnonzero(np.r_[True, seen[1:] > seen[:-1]])
    return number, first


def narrowest(bound: int) -> np.dtype[np.signedinteger[Any]]:
    """The narrowest signed integer type that holds 0 <= value < ``bound``: numbers per row of a few
    groups or requests kept in 1, 2 or 4 bytes a row, not 8."""
    for limit, kind in _NARROW:
        if bound <= limit:
            return kind
    return np.dtype(np.int64)


# (how many numbers each holds, the type): np.iinfo costs microseconds a call
_NARROW: list[tuple[int, np.dtype[np.signedinteger[Any]]]] = [
    (2**7, np.dtype(np.int8)), (2**15, np.dtype(np.int16)), (2**31, np.dtype(np.int32))]


def narrowed(values: np.ndarray, bound: int) -> np.ndarray:
    """Integers 0 <= value < ``bound`` as 32-bit ones when they fit (half the memory of positions
    and numbers kept per row), else as they are."""
    return values.astype(np.int32) if bound < 2**31 else values


def ranked(number: np.ndarray, first: np.ndarray, *columns: np.ndarray) -> np.ndarray:
    """Each row's rank of its combination (numbered by `combine`, each column's codes given for the
    first rows) in sorted order: the labels ``groupby(columns, sort=True)`` gives the rows. pandas
    sums in a different order when those labels are sorted (``reduceat``) than when they are not
    (Kahan): grouping by the same labels gives the same sums to the last bit."""
    order = np.lexsort(tuple(reversed(columns)))
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first))
    return rank[number]


def as_texts(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its categorical columns as plain text columns (for small result frames that
    callers read like any other)."""
    texts = {name: pd.array(_texts(column.array), dtype="str")
             for name, column in frame.items() if isinstance(column.dtype, pd.CategoricalDtype)}
    return frame.assign(**texts) if texts else frame


def _texts(values: pd.Categorical) -> np.ndarray:
    codes = values.codes
    out = np.asarray(values.categories, dtype=object)[codes]
    out[codes < 0] = np.nan
    return out


# Reading a column of a small frame: ``frame[name]`` makes a new Series on every call (~8 µs in pandas 3,
# Copy-on-Write: no item cache), and the analysis reads ~100 columns of its small frames per call (a real
# archive: ~0.7 ms of a ~21 ms analysis). These read the column's values as the frame stores them
# (``DataFrame._get_column_array``, ~1 µs), with the results ``frame[name].to_numpy(...)`` and
# ``frame[name].tolist()`` give: a frame's own numpy values come back as a read-only view, as
# ``to_numpy`` gives them under Copy-on-Write, so no caller can change the frame through one.
# (``_get_column_array`` is pandas' own, not its public API: should a pandas release drop it, or a frame
# not have it, the column is read through ``frame[name]`` as before.)
def column_array(frame: pd.DataFrame, name: str, dtype: Any = None) -> np.ndarray:
    """``frame[name].to_numpy(dtype=dtype)`` without the Series (a ``KeyError`` when there is no such column)."""
    values = _stored(frame, name)
    if values is None:
        return frame[name].to_numpy(dtype=dtype)
    if not isinstance(values, np.ndarray):  # an extension array (text, categorical, datetime): its own conversion
        found = values.to_numpy(dtype=dtype)
        # a datetime/timedelta column hands out its own memory: read-only, as `Series.to_numpy` makes it
        if found.flags.writeable and np.shares_memory(values[:2], found[:2]):
            found = found.view()
            found.flags.writeable = False
        return found
    found = np.asarray(values, dtype=dtype)
    if found is values:  # the frame's own array: read-only, as `to_numpy` hands it out
        found = found.view()
        found.flags.writeable = False
    return found


def column_values(frame: pd.DataFrame, name: str) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``frame[name].array`` without the Series: the column's values as the frame stores them (a
    categorical, a text array; a numpy column as its read-only ndarray, which ``.array`` would wrap).
    For the readers of a column's codes and categories (`categorical`, `grouped_models`), which take it
    as they take the Series."""
    values = _stored(frame, name)
    if values is None:
        return frame[name].array
    if isinstance(values, np.ndarray):  # (read-only, as ``.array`` hands a numpy column out under Copy-on-Write)
        values = values.view()
        values.flags.writeable = False
    return values


def column_list(frame: pd.DataFrame, name: str) -> list[Any]:
    """``frame[name].tolist()`` without the Series."""
    values = _stored(frame, name)
    return frame[name].tolist() if values is None else values.tolist()


def _stored(frame: pd.DataFrame, name: str) -> Any:
    """The column's values as the frame stores them; None when they are read through ``frame[name]``
    (a name several columns hold, or a pandas without ``_get_column_array``). KeyError: no such column."""
    at = frame.columns.get_loc(name)
    stored = getattr(frame, "_get_column_array", None)
    return None if not isinstance(at, int) or stored is None else stored(at)
