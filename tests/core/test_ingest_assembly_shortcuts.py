"""Shortcuts in assembling ingest's result find what the general paths find, on random and hostile
inputs: the claims' columns, a file's text codes, the twin search's files with a successful request
and the categories' text Index."""

from __future__ import annotations

import math
import random
from operator import itemgetter

import numpy as np
import pandas as pd
import pytest

from bot.core.ingest.frame import CLAIM_COLUMNS, SHARED_CLAIM_TEXTS, ClaimColumns, ColumnStore, _text_index
from bot.core.ingest.rows import Rows
from tests.core.test_ingest_passes import _file


class _Text(str):
    pass


# -------------------------------------------------------------------------------------- claims
def _claims(rng: random.Random) -> list[dict[str, object]]:
    texts = ["", "a", "gemma3:270m", "num_ctx=1024", "mean", "\ud800", "é", _Text("a")]
    return [{name: (rng.choice([1.0, math.nan, 2, None]) if name in ("value", "precision")
                    else rng.choice(texts) if rng.random() < 0.3  # (a subclass of str kept as it is)
                    else "".join(rng.choice(texts) for _ in range(rng.randint(0, 2))))
             for name in rng.sample(CLAIM_COLUMNS, len(CLAIM_COLUMNS))} for _ in range(rng.randint(0, 8))]


@pytest.mark.parametrize("seed", range(50))
def test_claim_columns_hold_each_claims_values(seed: int) -> None:
    rng = random.Random(seed)
    files = [_claims(rng) for _ in range(rng.randint(0, 6))]
    store = ClaimColumns()
    chunks = [store.add(claims) for claims in files]
    every = [claim for claims in files for claim in claims]
    assert [(chunk.start, chunk.stop) for chunk in chunks] == \
        [(sum(map(len, files[:i])), sum(map(len, files[:i + 1]))) for i in range(len(files))]
    for name in CLAIM_COLUMNS:  # the values, each text of a shared column kept once
        column = store.columns[name]
        assert repr(column) == repr(list(map(itemgetter(name), every)))
        if name in SHARED_CLAIM_TEXTS:
            firsts: dict[object, object] = {}
            assert all(value is firsts.setdefault(value, value) for value in column)
    want = pd.DataFrame({name: store.columns[name][:] for name in CLAIM_COLUMNS}, columns=list(CLAIM_COLUMNS))
    got = store.frame()
    if every:  # the frame pandas makes of the columns, named in their order
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert list(got.columns) == list(CLAIM_COLUMNS) and got.columns.dtype == want.columns.dtype
    with pytest.raises(KeyError):
        store.add([{name: "" for name in CLAIM_COLUMNS[1:]}])


# ---------------------------------------------------------------------------------- text codes
@pytest.mark.parametrize("seed", range(100))
def test_packed_codes_number_texts_in_the_order_they_first_come(seed: int) -> None:
    rng = random.Random(seed)
    rows = _file(rng, "f.json")
    pool = ["a", "b", "é", "\ud800", "", "a" * 50]
    distinct = rng.random() < 0.5  # all texts distinct (the shortcut) or drawn from a few
    size = len(rows)
    rows.context[:] = [f"{i}{rng.choice(pool)}" if distinct else rng.choice(pool) for i in range(size)]
    for name, (texts, codes) in rows.packed().texts.items():
        column = rows.column(name)
        assert texts == list(dict.fromkeys(column)), name
        assert codes.dtype == np.int32 and [texts[code] for code in codes.tolist()] == column, name


# ------------------------------------------------------------------------------------------ twins
@pytest.mark.parametrize("seed", range(100))
def test_kept_any_each_is_kept_any_of_each_chunk(seed: int) -> None:
    rng = random.Random(seed)
    store = ColumnStore()
    chunks = [store.add((_file(rng, f"f{i}.json") if rng.random() < 0.8 else Rows()).packed()) for i in range(8)]
    store.seal()
    for chunk in chunks:
        if len(chunk) and rng.random() < 0.5:
            store.keep(chunk, sorted(rng.sample(range(len(chunk)), rng.randint(0, len(chunk)))))
    flags = np.array([rng.random() < rng.choice([0.0, 0.05, 0.5]) for _ in range(len(store))], dtype=bool)
    picked = rng.sample(chunks, rng.randint(0, len(chunks)))  # any order, some twice
    picked += picked[:rng.randint(0, len(picked))]
    assert store.kept_any_each(picked, flags) == [store.kept_any(chunk, flags) for chunk in picked]


# ------------------------------------------------------------------------------------ categories
@pytest.mark.parametrize("seed", range(100))
def test_text_index_is_the_str_index_pandas_makes(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["a", "B", "é", "\ud800", "\x85", "\u2028", " ", "0", "ſ", "\U0001f600", "x" * 40]
    texts: list[object] = list(dict.fromkeys("".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
                                             for _ in range(rng.randint(1, 30))))
    if rng.random() < 0.2:
        texts.append(np.str_("np"))
    if rng.random() < 0.2:  # a number among the texts: made into its text
        texts.append(rng.choice([7, 2.5, True]))
    values = np.empty(len(texts), dtype=object)
    values[:] = texts
    want = pd.Index(values.copy(), dtype=str)
    got = _text_index(values.copy())
    assert got.dtype == want.dtype and got.equals(want)
    assert [type(t) for t in got] == [type(t) for t in want] and list(got) == list(want)
    dtype = pd.CategoricalDtype(want) if want.is_unique else None
    if dtype is not None:
        assert pd.CategoricalDtype(got) == dtype
