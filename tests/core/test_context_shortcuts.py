"""`short` cuts a long text from a prefix, `canonical_value` writes lists and objects with one encoder
made once: each gives what the plain way gives (the whole text cleaned and cut, `json.dumps` with the
canonical options), on random and hostile texts, seeded."""

from __future__ import annotations

import json
import random
from typing import Any

from bot.core.context import canonical_value, short

# whitespace `str.split` splits on (line and record separators among them), and what it does not
_SPACES = [" ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u00a0", "\u2028",
           "\u2029", "\u3000", "\u200b", "\ufeff"]
_WORDS = ["a", "prompt", "Whoa,", "didn't", "😅💀", "\ud800", "x" * 130, "…", "é", "", "\u0301", "\x00", "[\"", "\\"]


def _reference_short(text: str, limit: int = 120) -> str:
    """`short` as it was: the whole text cleaned, then cut."""
    clean = " ".join(str(text).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _text(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(0, 200)):
        pieces.append(rng.choice(_WORDS) if rng.random() < 0.55 else rng.choice(_SPACES) * rng.randint(1, 40))
    return "".join(pieces)


def test_a_text_cut_from_its_prefix_is_the_whole_text_cut() -> None:
    rng = random.Random(21)
    limits = [120, 120, 120, 1, 2, 3, 0, -1, -5, 10, 119, 121, 240]
    texts = [_text(rng) for _ in range(3000)]
    # at the edges: a prefix that ends in a word, in a space, exactly at the limit, all spaces
    texts += ["a" * n for n in (239, 240, 241, 500)] + [" " * 1000, " " * 239 + "b" * 300, "ab " * 200,
                                                          "x" * 119 + " " * 400 + "y", "\u2028".join(["w"] * 400)]
    for text in texts:
        for limit in limits:
            assert short(text, limit) == _reference_short(text, limit), (text[:80], limit)
        assert short(text) == _reference_short(text)


def test_a_value_other_than_text_is_shortened_as_its_text() -> None:
    for value in (12345, 1.5, None, ["a" * 300], ("b " * 300,)):
        assert short(value) == _reference_short(value)  # type: ignore[arg-type]


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 4 and roll < 0.45:
        keys = ["b", "a", "é", "\u2028", "1", "Z"]
        return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return rng.choice(["text", "é\u2028\x85", "\ud800", 1, 1.5, -0.0, float("nan"), float("inf"), True, None,
                       10**30, "a\"b\\c", object])


def test_lists_and_objects_are_written_as_json_dumps_writes_them() -> None:
    rng = random.Random(22)
    for _ in range(3000):
        value = [_value(rng)] if rng.random() < 0.5 else {"k": _value(rng), "a": _value(rng)}
        expected = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        assert canonical_value(value) == expected
    assert canonical_value(({"x": 1}, "y")) == '[{"x":1},"y"]'
