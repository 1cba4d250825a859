"""`facts._distinct` and `requests.is_text` at rows give what the object copy of the column gives (the
request frame's categoricals are read off their codes, stored frames' text columns as objects)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from bot.core.analysis.facts import _distinct
from bot.core.analysis.requests import is_text


def test_distinct_texts_of_a_column_at_a_mask_are_the_object_copys() -> None:
    rng = random.Random(8)
    for _ in range(300):
        texts = [rng.choice(["a", "b", "c/d.json", "é", ""]) for _ in range(rng.randint(0, 30))]
        if texts and rng.random() < 0.2:
            texts[rng.randrange(len(texts))] = None  # a missing text: NaN, as pandas writes it
        mask = np.array([rng.random() < 0.5 for _ in texts], dtype=bool)
        for column in (pd.Series(texts, dtype="category"), pd.Series(texts, dtype=object)):
            objects = column.to_numpy(dtype=object)
            for rows, expected in ((None, objects), (mask, objects[mask])):
                got, want = _distinct(column, rows), set(expected.tolist())
                assert {x for x in got if x == x} == {x for x in want if x == x}  # (NaN != NaN)
                assert any(x != x for x in got) == any(x != x for x in want)


def test_equals_at_rows_is_the_whole_columns_at_those_rows() -> None:
    rng = random.Random(9)
    for _ in range(200):
        texts = [rng.choice(["m:1b", "m:7b", "x"]) for _ in range(rng.randint(1, 30))]
        rows = np.flatnonzero([rng.random() < 0.5 for _ in texts])
        for column in (pd.Series(texts, dtype="category"), pd.Series(texts, dtype=object)):
            for text in ("m:1b", "absent"):
                assert is_text(column, text, rows).tolist() == is_text(column, text)[rows].tolist()
