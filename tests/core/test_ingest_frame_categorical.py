"""`bot.core.ingest.frame.categorical` (sort-based, categories made as a ``str`` Index, codes
renumbered in place) against the factorize-based version it replaced, on random texts: the same
categorical, down to the categories' and codes' types."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from bot.core.ingest import frame
from bot.core.ingest.frame import FileTexts, categorical

ALPHABET = ["a", "b", "#", "0", "1", "é", "日", "\ud800", "🙂", "\x00", " ", "Z"]


def _reference(codes: np.ndarray, texts: list[str], *, merge: bool = False) -> pd.Categorical:
    """The previous implementation (main 2bded61), kept as the specification."""
    if merge:
        numbers, uniques = pd.factorize(np.asarray(texts, dtype=object), sort=True)
        if len(codes):
            used_text = np.zeros(len(texts), dtype=bool)
            used_text[codes] = True
            used = np.zeros(len(uniques), dtype=bool)
            used[numbers[used_text]] = True
            renumber = (np.cumsum(used) - 1).astype(np.int32)[numbers]
            return pd.Categorical.from_codes(renumber[codes], categories=uniques[used].tolist())
        return pd.Categorical.from_codes(codes.astype(np.int32), categories=[])
    order = np.argsort(np.asarray(texts, dtype=object), kind="stable")
    rank = np.empty(len(texts), dtype=np.int32)
    rank[order] = np.arange(len(texts), dtype=np.int32)
    return pd.Categorical.from_codes(rank[codes] if len(codes) else codes.astype(np.int32),
                                     categories=[texts[i] for i in order])


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 4)))


def _same(got: pd.Categorical, want: pd.Categorical) -> None:
    assert got.categories.tolist() == want.categories.tolist()
    assert got.categories.dtype == want.categories.dtype
    assert got.codes.dtype == want.codes.dtype
    assert got.codes.tolist() == want.codes.tolist()
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("seed", range(300))
def test_categorical_matches_the_factorize_version(seed: int) -> None:
    rng = random.Random(seed)
    merge = seed % 2 == 0
    count = rng.choice([0, 1, 2, 5, 40, 300])
    texts = [_text(rng) for _ in range(count)]
    if not merge:  # texts shared by many files are distinct
        texts = list(dict.fromkeys(texts))
    rows = rng.choice([0, 1, 7, 500]) if texts else 0
    dtype = rng.choice([np.int8, np.int16, np.int32, np.int64]) if len(texts) <= 127 else np.int32
    codes = np.asarray([rng.randrange(len(texts)) for _ in range(rows)], dtype=dtype)
    want = _reference(codes.copy(), texts, merge=merge)
    _same(categorical(codes.copy(), texts, merge=merge), want)
    _same(categorical(codes.copy(), np.asarray(texts, dtype=object), merge=merge, owned=True), want)


def test_codes_renumbered_in_place_in_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frame, "_RENUMBERED_AT_ONCE", 7)
    rng = np.random.default_rng(1)
    texts = [f"t{i % 50}" for i in range(200)]
    codes = rng.integers(0, 200, 1000).astype(np.int32)
    want = _reference(codes.copy(), texts, merge=True)
    got = categorical(codes, texts, merge=True, owned=True)
    _same(got, want)


def test_codes_not_owned_are_left_alone() -> None:
    codes = np.array([2, 0, 1, 2], dtype=np.int8)
    got = categorical(codes, ["c", "a", "b"])
    assert codes.tolist() == [2, 0, 1, 2]
    assert got.tolist() == ["b", "c", "a", "b"]


def test_a_code_type_too_narrow_for_the_ranks_is_not_overwritten() -> None:
    codes = np.array([0, 1], dtype=np.int8)
    texts = [f"{i:03d}" for i in range(300)]
    got = categorical(codes, texts, owned=True)
    assert got.tolist() == ["000", "001"]


@pytest.mark.parametrize("step", [1, 2, 3, 4096])
def test_file_texts_taken_all_release_their_bytes(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    monkeypatch.setattr(frame, "_DECODED_AT_ONCE", step)
    rng = random.Random(step)
    texts = FileTexts()
    for _ in range(6):
        distinct = [_text(rng) for _ in range(rng.randint(0, 5))]
        texts.extend(distinct)
    expected = texts.all()
    taken = texts.take_all()
    assert taken.dtype == object
    assert taken.tolist() == expected
    assert len(texts) == 0
    assert len(texts.data) == 0
