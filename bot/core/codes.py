"""Text columns as integer codes: what grouping by several text columns at once is computed on.

The measurement frame's text columns are categoricals (`bot.core.ingest.frame`); a frame read back
from the database has plain text columns. Both are handled here the same way: `categorical` gives
a column's codes over sorted categories, `combine` numbers the distinct combinations of several
columns in the order they first occur, so a loop runs once per distinct combination, never per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

UNNAMED_MODEL = "(model not stated)"


def group_model(model: str, source: str) -> str:
    """The name a model's rows are grouped under: its own, or for unnamed rows one per source file."""
    return model if model else f"{UNNAMED_MODEL} {source}"


def categorical(column: pd.Series | pd.Categorical) -> pd.Categorical:
    """The column as a categorical whose categories are sorted (a view when it already is one)."""
    values = column.array if isinstance(column, pd.Series) else column
    if isinstance(values, pd.Categorical):
        if _is_sorted(values.categories):
            return values
        return values.reorder_categories(sorted(values.categories))
    return pd.Categorical(np.asarray(values, dtype=object))


def _is_sorted(categories: pd.Index) -> bool:
    texts = categories.tolist()
    return all(a < b for a, b in pairwise(texts))


def from_codes(codes: np.ndarray, texts: Sequence[str]) -> pd.Categorical:
    """A categorical of ``texts[code]`` per row, with its categories sorted (``texts`` distinct)."""
    order = sorted(range(len(texts)), key=texts.__getitem__)
    rank = np.empty(len(texts), dtype=np.int32)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(texts), dtype=np.int32)
    new = rank[codes] if len(codes) else np.asarray(codes, dtype=np.int32)
    return pd.Categorical.from_codes(new, categories=[texts[i] for i in order])


def grouped_models(model: pd.Series, source: pd.Series) -> pd.Categorical:
    """Each row's model as grouped (`group_model`): unnamed rows apart per source file."""
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


def combine(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each row's combination number, the first row of each combination); combinations are
    numbered in the order they first occur.

    Rows often come in runs of one combination (a request's metrics are written one after the
    other): when they do, and no combination has two runs, the runs are the combinations, numbered
    by counting where they start (no hash table; a bool and an int64 per row). Otherwise one hash
    pass (no sort): a few int64 per row."""
    size = len(columns[0])
    if not size:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.zeros(size, dtype=bool)  # where a run starts
    starts[0] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    first = np.flatnonzero(starts)
    if 2 * len(first) <= size and len(_hashed(*(column[first] for column in columns))[1]) == len(first):
        number = np.cumsum(starts, dtype=np.int64)
        number -= 1
        return number, first
    del starts
    return _hashed(*columns)


def _hashed(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`combine` by one hash pass over every row."""
    if not len(columns[0]):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    key = np.asarray(columns[0], dtype=np.int64).copy()
    for column in columns[1:]:
        width = int(column.max()) + 1
        if int(key.max()) >= 2**62 // width:  # renumber before the product could overflow
            key = pd.factorize(key)[0].astype(np.int64)
        key *= width
        key += column
    number, _ = pd.factorize(key)
    del key
    seen = np.maximum.accumulate(number)
    first = np.flatnonzero(np.r_[True, seen[1:] > seen[:-1]])
    return number, first


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
