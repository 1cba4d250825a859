"""`split_columns` reads a column of texts on its distinct texts, numbers through one ``map(float, …)``:
what it finds is what the general rule (`classify_field`, `_coerce` per value) finds. Random
columns, seeded."""

from __future__ import annotations

import math
import random
from typing import Any

from bot.core.context import _classify_texts, _coerce, _coerced_texts, classify_field, split_columns

_TEXTS = ["0", "12", "-3", "0.5", ".25", "-0", "1.", "1e5", "1e400", "-1e400", "1,234", "12 ms", "", " ", "nan",
          "NaN", "+nan", "inf", "-inf", "+inf", "Infinity", "infinity", "1_0", "+1", " 7 ", "\t5\t", "\u30007\u3000",
          "\x1c8", "١٢", "1 2", "1:2", "2025-09-30T20:11:33", "20251002-151204", "llama3.1:8b", "abc", "true",
          "0123456789abcdef0123456789abcdef", "line\nbreak", "5\u00a06", "0x10", "1e", "--1"]
_NAMES = ["num_ctx", "temperature", "seed", "run", "timestamp", "created_at", "prompt", "backend", "latency_ms",
          "eval_count", "max_concurrency", "n_gpu_layers", "tag", "error", "success", "model.name", "rate"]


def _column(rng: random.Random) -> list[str]:
    if rng.random() < 0.5:  # numbers only, the shortcut's case (a few not finite, or spaced)
        pool = [str(rng.randint(-999, 999)), f"{rng.uniform(-99, 99):.3f}", "1e400", " 4 ", "-0", "nan"]
        return [rng.choice(pool[:2] if rng.random() < 0.8 else pool) for _ in range(rng.randint(1, 12))]
    return [rng.choice(_TEXTS) for _ in range(rng.randint(1, 12))]


def test_texts_coerced_at_once_are_coerced_one_by_one() -> None:
    rng = random.Random(11)
    for texts in [[text] for text in _TEXTS] + [_column(rng) for _ in range(4000)]:
        assert repr(_coerced_texts(texts)) == repr([_coerce(text) for text in texts]), texts


def test_a_column_of_texts_is_judged_as_the_general_rule_judges_it() -> None:
    rng = random.Random(12)
    for _ in range(4000):
        name, column = rng.choice(_NAMES), _column(rng)
        assert _classify_texts(name, list(dict.fromkeys(column))) == classify_field(name, column), (name, column)


def test_split_columns_keeps_the_order_names_first_appear_in() -> None:
    records = [{"b": "1", "a": "x"}, {"c": "2025-09-30T20:11:33", "a": "y"}, {"d": 1.5, "b": "2"}]
    dims, idents = split_columns(records, skip={"d"})
    assert [name for name, _ in dims] == ["b", "a"]
    assert idents == [("c", [None, "2025-09-30T20:11:33", None])]
    assert dims == [("b", ["1", None, "2"]), ("a", ["x", "y", None])]


def _identifier_reference(leaf: str, said: Any, present: list[Any]) -> bool:
    """`_is_identifier` as it was: every test value by value."""
    from bot.core.context import _UUID, _is_epoch, _is_timestamp

    if not present:
        return False
    if all(_is_timestamp(v) for v in present):
        return True
    if said.time and all(_is_timestamp(v) or _is_epoch(v) for v in present):
        return True
    strings = [v for v in present if isinstance(v, str)]
    if strings and len(strings) == len(present) and all(_UUID.match(v.strip()) for v in strings):
        return True
    if strings and (said.text or any("\n" in v for v in strings)):
        return True
    if said.text and any(isinstance(v, list) and any(isinstance(x, str) for x in v) for v in present):
        return True
    if said.repetition:
        return leaf.lower() != "seed" or len({repr(v) for v in present}) > 1
    return False


def test_columns_of_texts_or_floats_are_told_identifiers_as_value_by_value() -> None:
    from bot.core.context import _is_identifier, _name

    rng = random.Random(13)
    floats = [1.5, 0.0, -0.0, 1759098967.2, 1759098967000.0, 3.0, 2.2e9, 1e18, math.nan, math.inf]
    stamps = ["2025-09-30T20:11:33", " 2025-09-30 20:11 ", "20251002-151204", "20251002_1512", "2025-09-30",
              "0123456789abcdef0123456789abcdef", "01234567-89ab-cdef-0123-456789abcdef", "a\nb", "x"]
    leaves = [*_NAMES, "seed", "created_at", "time_ns", "prompt_text", "run_id", "uuid", "date"]
    for _ in range(6000):
        leaf = rng.choice(leaves)
        roll = rng.random()
        if roll < 0.4:
            present: list[Any] = [rng.choice(floats) for _ in range(rng.randint(1, 5))]
        elif roll < 0.8:
            present = [rng.choice(stamps + _TEXTS) for _ in range(rng.randint(1, 5))]
        else:  # mixed: value by value, as before
            present = [rng.choice([*floats, *stamps, 3, True, [1, "a"], None]) for _ in range(rng.randint(1, 5))]
        said = _name(leaf)
        assert _is_identifier(leaf, said, present) == _identifier_reference(leaf, said, present), (leaf, present)


def test_a_text_with_a_colon_is_its_own_canonical_text() -> None:
    from bot.core.config import format_config_value
    from bot.core.context import _canonical_text

    for text in ["2025-09-30T20:11:33", " llama3.1:8b ", "1:2", ":", " 12: ms", "a:b\n", "\u30001:0\u3000"]:
        assert _canonical_text(text) == format_config_value(text.strip()), text


def _split_reference(records: list[dict[str, Any]], skip: set[str]) -> tuple[list[Any], list[Any]]:
    """`split_columns` of several records as it was: every field by `classify_field`, each value
    written by `_field_text` (each distinct (type, value) once, the first one's text)."""
    from bot.core.context import _field_text

    absent = object()
    dims: list[Any] = []
    idents: list[Any] = []
    names: dict[str, None] = {}
    for record in records:
        for key in record:
            if key not in skip:
                names.setdefault(key, None)
    for name in names:
        column = [record.get(name, absent) for record in records]
        cls = classify_field(name, [None if raw is absent else raw for raw in column])
        if cls not in ("dimension", "identifier"):
            continue
        texts: list[Any] = []
        seen: dict[Any, Any] = {}
        for raw in column:
            if raw is absent:
                texts.append(None)
                continue
            try:
                if (type(raw), raw) not in seen:
                    seen[(type(raw), raw)] = _field_text(raw, cls)
                texts.append(seen[(type(raw), raw)])
            except TypeError:
                texts.append(_field_text(raw, cls))
        (dims if cls == "dimension" else idents).append((name, texts))
    return dims, idents


def test_split_columns_of_numbers_and_mixed_values_is_the_general_rule() -> None:
    rng = random.Random(14)
    numbers = [0, 1, -7, 2**70, 10**400, 1.0, 1.5, -0.0, 0.0, math.nan, math.inf, 1759098967, 1759098967.2,
               1.7e12, 3, 40, 999]
    others = [True, False, None, "1", "abc", "2025-09-30T20:11:33", [1, 2], {"a": 1}, ["x"]]
    names = [*_NAMES, "created_at", "run", "seed", "prompt", "count_tokens", "num_prompts"]
    for _ in range(3000):
        columns = rng.sample(names, rng.randint(1, 4))
        pool = numbers if rng.random() < 0.6 else numbers + others
        records = [{column: rng.choice(pool) for column in columns if rng.random() < 0.9}
                   for _ in range(rng.randint(2, 8))]
        skip = {columns[0]} if rng.random() < 0.2 else set()
        assert split_columns(records, skip=skip) == _split_reference(records, skip), records


def test_texts_that_cannot_start_a_number_are_not_tried_yet_coerced_as_float_would() -> None:
    """`_coerce` tries `float` only on a text that starts as a number can (`_FLOAT_START`): those it
    leaves (names, a leading '_' or letter) `float` refuses, the others (any script's digits, '.',
    inf/nan) it reads as before; a column of only such texts is given back whole (`_coerced_texts`)."""
    names = ["g999_c1024_t0.2", "abc", "x1", "_1", "true", "ⅷ", "e5", "Inf-", "é"]
    numbers = ["７", "١٢", "+.5", ".5", "-inf", "+Infinity", "NAN", "nan5", "1_0", "\t-7 ", "+n", "i"]
    for text in names + numbers:
        try:
            expected: Any = float(text.strip())
        except ValueError:
            expected = text
        if text.strip().lower() in {"inf", "-inf", "nan", "infinity"}:
            expected = text
        assert repr(_coerce(text)) == repr(expected), text
    assert _coerced_texts(names) == names
    assert repr(_coerced_texts([*names, "７"])) == repr([*names, 7.0])
