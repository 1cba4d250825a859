"""The column-at-a-time readings ingest uses give exactly what the one-value readings give.

`parse_numbers`, `parse_shown` and `encode`'s text path exist only to be faster (bench/bench_ingest.py);
their results must be the same to the last bit, or the outputs of an archive would change.
"""

from __future__ import annotations

import json
import math
import random

from bot.core.context import encode
from bot.core.values import _half_unit, parse_number, parse_numbers, parse_shown, parse_shown_column, shown_precision

SAMPLES: list[object] = [
    0, 1, -7, 2**70, 1.5, -0.0, 0.0, math.nan, math.inf, -math.inf, True, False, None, [1], {"a": 1},
    "", " ", "12", "-0.5", ".25", "5.", "1.e5", "1e5", "+5", "1_000", "nan", "inf", "Infinity", "1,234",
    "1,234.5", " 12 ", "**76.59**", "870 ms", "1.2s", "404.67 ± 3.65", "34%", "102.85 tok/s", "0.097 s",
    "12 µs", "-", "+", ".", "abc", "1e999", "١٢", "0x10", "12.50", "007", "-.5", "1.2.3",
]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_parse_numbers_is_parse_number_per_value() -> None:
    rng = random.Random(7)
    values = SAMPLES + [f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 9)}f}" for _ in range(300)]
    values += [rng.uniform(-1e6, 1e6) for _ in range(100)]
    for factor, is_time in ((1.0, False), (1000.0, True), (1e-6, True), (0.001, False)):
        got = parse_numbers(values, factor=factor, is_time=is_time)
        for raw, found in zip(values, got, strict=True):
            assert _same(found, parse_number(raw, factor=factor, is_time=is_time)), raw


def test_parse_shown_is_number_and_shown_precision() -> None:
    texts = [s for s in SAMPLES if isinstance(s, str)] + ["0.1234", "-12", "1.50 ms", "**3.0** s"]
    for factor, is_time in ((1.0, False), (1000.0, True), (0.001, True)):
        for text in texts:
            number, precision = parse_shown(text, factor=factor, is_time=is_time)
            assert _same(number, parse_number(text, factor=factor, is_time=is_time)), text
            if number is not None:  # the precision is only read beside a number
                assert precision == shown_precision(text, factor=factor), text


def test_parse_shown_column_is_parse_shown_per_value() -> None:
    rng = random.Random(5)
    plain = [f"{rng.uniform(-1e4, 1e4):.{rng.randint(0, 12)}f}" for _ in range(40)] + ["7", "-0", ".5", "1e999"[:3]]
    columns = [plain, plain[:7], [*plain, "1.5 ms"], [*plain, 3.25], SAMPLES, ["9" * 400 + ".5"] * 9]
    for factor, is_time in ((1.0, False), (1000.0, True), (0.001, True), (-2.0, False)):
        for raws in columns:
            numbers, precisions = parse_shown_column(list(raws), factor=factor, is_time=is_time)
            for raw, number, precision in zip(raws, numbers, precisions, strict=True):
                if isinstance(raw, str):
                    want, shown = parse_shown(raw, factor=factor, is_time=is_time)
                else:
                    want, shown = parse_number(raw, factor=factor, is_time=is_time), 0.0
                assert _same(number, want) and precision == shown, raw


def test_encode_of_texts_is_json_dumps() -> None:
    rng = random.Random(11)
    alphabet = ['a', 'Z', '"', '\\', '\n', '\x00', '\x1f', 'é', '€', '\u2028', ' ', '{', ':', ',', '😀', '\ud800']
    for _ in range(2000):
        mapping = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))):
                   "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(1, 5))}
        assert encode(mapping) == json.dumps(mapping, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert encode({"a": None}) == "{}"
    assert encode({"b": 1, "a": "x"}) == '{"a":"x","b":1}'  # not all texts: json.dumps itself


def test_plain_heading_lines_are_read_as_the_heading_pattern_reads_them() -> None:
    from bot.core.ingest.readers import _HEADING, _headings

    rng = random.Random(11)
    pieces = ["#", "#", "#", " ", "\t", "a", "b", "|", ":", "\u3000", "\x1c", "x y", "é", "-", "\u0085"]
    lines = ["## Title", "#######  x", "# a # b", "  ### gemma3:4b results  ", "#\t\t", "# ", "#", "C# code"]
    lines += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))) for _ in range(20000)]
    for line in lines:
        if "#" in line:
            assert _headings(line) == [m.group(2).strip() for m in _HEADING.finditer(line)], repr(line)


def test_one_record_fields_are_judged_as_a_column_of_one() -> None:
    from bot.core.context import split_fields

    record = {f"f{i}": value for i, value in enumerate(SAMPLES)}
    record.update({"run": 3, "seed": 1, "timestamp": "2025-10-02T15:12:04", "prompt": "hi\nthere",
                   "uuid": "0123456789abcdef0123456789abcdef", "created_at": 1759098967.2})
    twice = split_fields([record, record])
    assert split_fields([record]) == ([twice[0][0]], [twice[1][0]])
    assert split_fields([record]) == ([twice[0][0]], [twice[1][0]])  # again, from the cache


def test_texts_not_tried_as_numbers_are_texts_float_refuses() -> None:
    """`_coerce` skips `float` for texts with a ':' or an inner space: `float` refuses them all."""
    from bot.core.context import _coerce

    def reference(value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text and text.lower() not in {"inf", "-inf", "nan", "infinity"}:
                try:
                    return float(text)
                except ValueError:
                    return value
        return value

    texts = [s for s in SAMPLES if isinstance(s, str)] + [
        "2025-09-30T20:11:33", "llama3.1:8b", "1 2", " 1 ", "1:2", "+1_0", "1e 5", "١٢ ٣", "\t5\t", "5\u00a06"]
    for text in texts:
        assert repr(_coerce(text)) == repr(reference(text)), text


def _bare_key_in_turns(text: str) -> str:
    """What `_bare_key` was: spaces, then stars and dashes, stripped in turns until nothing changes."""
    while True:
        bare = text.strip().strip("*-")
        if bare == text:
            return bare
        text = bare


def test_a_key_is_bared_in_one_pass_as_in_turns() -> None:
    from bot.core.ingest.readers import _SPACES_STARS_DASHES, _bare_key

    assert set(_SPACES_STARS_DASHES) == {chr(c) for c in range(0x110000) if chr(c).isspace()} | {"*", "-"}
    alphabet = [" ", "\t", "\xa0", "\u2028", "\u3000", "\x1c", "\x85", "\u200b", "*", "-", "a", "B", "/", "é", "_"]
    rng = random.Random(15)
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _bare_key(text) == _bare_key_in_turns(text), repr(text)
    # the line shape that made the turns quadratic (600 KB of it took 10 s to read)
    assert _bare_key("- " * 1000 + "TTFT (ms) **") == "TTFT (ms)"


def test_precisions_looked_up_are_the_precisions_raised() -> None:
    """`parse_shown` and `parse_shown_column` look up ``0.5 * 10 ** -d`` for the usual counts of decimals
    (`_HALF_UNITS`): the same floats as raised, short and long decimals alike."""
    texts = ["7", "7.", ".5", "0.097", "-1.25", "1." + "3" * 31, "1." + "3" * 32, "2." + "4" * 45, "0." + "0" * 400]
    for factor in (1.0, 1000.0, -0.001, 0.0):
        column = texts * 3  # (long enough for the column's own path too)
        numbers, precisions = parse_shown_column(column, factor=factor)
        for text, number, precision in zip(column, numbers, precisions, strict=True):
            assert repr(parse_shown(text, factor=factor)) == repr((number, precision)), text
            assert repr(precision) == repr(shown_precision(text, factor=factor)), text
        for text in texts:
            number, precision = parse_shown_column([text], factor=factor)
            assert repr(precision[0]) == repr(shown_precision(text, factor=factor)), text


def test_a_half_unit_is_the_power_raised_for_any_count() -> None:
    # the table serves 0..31 decimals; others, a negative count above all, are raised (a negative
    # index read the table from its end: 5e-32 for -1)
    for count in (-40, -32, -31, -2, -1, 0, 1, 30, 31, 32, 33, 400):
        assert repr(_half_unit(count)) == repr(0.5 * 10 ** (-count)), count
