"""Parsing of single values (numbers with units, booleans, missing markers), shared by every reader.

Configurations (``k=v,k=v``) are made and read in `bot.core.config`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter, mul
from typing import Any, cast

_NUMBER_WITH_UNIT = re.compile(
    r"^\s*\**\s*(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*"
    r"(?:(?:±|\+/-)\s*[\d.,]+(?:[eE][-+]?\d+)?\s*)?"  # '404.67 ± 3.65': the value, its spread left aside
    r"(?P<unit>ms|s|sec|secs|seconds|us|µs|ns|tok/s|tokens/s|t/s|%)?\s*\**\s*$"
)
_TIME_UNITS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "secs": 1000.0, "seconds": 1000.0,
               "us": 0.001, "µs": 0.001, "ns": 1e-6}

# ASCII digits with an optional leading '-' and at most one inner or leading '.' ('12', '-0.5', '.25'):
# what `_NUMBER_WITH_UNIT` reads as a bare number, read by `float` alone (5x faster)
_PLAIN_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)", re.ASCII)
# The characters of a column of such texts joined by line breaks (`_plain_column`)
_PLAIN_CHARS = re.compile(r"[0-9.\-\n]*")

MISSING_TEXT = {"", "nan", "none", "null", "n/a", "na", "-", "--", "—"}


def is_missing(raw: Any) -> bool:
    if raw is None:
        return True
    kind = type(raw)  # the usual kinds by exact type first (a claim's settings are asked twice each)
    if kind is str:
        return raw.strip().lower() in MISSING_TEXT
    if kind is float:
        return math.isnan(raw)
    if kind is int:
        return False
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip().lower() in MISSING_TEXT


def parse_number(raw: Any, *, factor: float = 1.0, is_time: bool = False) -> float | None:
    """A number in the canonical unit, or None.

    Accepts numbers, numeric strings ('5.7669', '3,503', ' 12 '), and strings carrying their own
    time unit ('870 ms', '1.2s'), which then override the column's unit. Booleans are not numbers.
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        try:
            value = float(raw) * factor
        except OverflowError:  # an int beyond float range
            return None
        return value if math.isfinite(value) else None
    if not isinstance(raw, str):
        return None
    if _PLAIN_DECIMAL.fullmatch(raw):  # what the pattern reads as a bare number
        value = float(raw) * factor
        return value if math.isfinite(value) else None
    match = _NUMBER_WITH_UNIT.match(raw)
    return _number_of(match, factor, is_time) if match else None


def _number_of(match: re.Match[str], factor: float, is_time: bool) -> float | None:
    """The number `_NUMBER_WITH_UNIT` matched, in the canonical unit (None when it holds none)."""
    if match.group("num") in {"", "+", "-", "."}:
        return None
    try:
        value = float(match.group("num").replace(",", ""))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    unit = match.group("unit")
    scaled = value * (_TIME_UNITS[unit] if unit in _TIME_UNITS and is_time else factor)
    return scaled if math.isfinite(scaled) else None


def parse_numbers(raws: Iterable[Any], *, factor: float = 1.0, is_time: bool = False) -> list[float | None]:
    """`parse_number` of each value of a column. A table's cells are mostly floats and plain decimal
    strings: those are read here without a call per value (the same result, a fifth of the time),
    and a CSV column of plain decimals (most of them) without a Python step per value at all."""
    raws = raws if isinstance(raws, list) else list(raws)
    plain_column = _plain_column(raws, factor)
    if plain_column is not None:
        return plain_column
    out: list[float | None] = []
    append = out.append
    plain = _PLAIN_DECIMAL.fullmatch
    for raw in raws:
        kind = type(raw)
        if kind is float or (kind is str and plain(raw)):
            value = float(raw) * factor
            append(value if math.isfinite(value) else None)
        else:
            append(parse_number(raw, factor=factor, is_time=is_time))
    return out


def _plain_column(raws: list[Any], factor: float) -> list[float | None] | None:
    """`parse_numbers` of a column of texts that are all plain decimals (`_PLAIN_DECIMAL`), read by
    ``float`` in C; None for any other column. The texts are joined with line breaks (none may hold
    one of its own: the count says so) and checked at once: only digits, '.' and '-' in them, and
    ``float`` reads each. Of such texts, ``float`` reads more than `_PLAIN_DECIMAL` only those that
    end in '.' ('5.'), looked for apart. (A pattern of the decimals' shape over the joined texts was
    a third of this function's time; a summary CSV is a few dozen such columns.)"""
    if len(raws) < 8 or type(raws[0]) is not str or type(raws[-1]) is not str:
        return None  # a JSON column of floats, or too few texts to pay for the join
    try:
        joined = "\n".join(raws)  # a TypeError when any value is not a text
    except TypeError:
        return None
    if (joined.count("\n") != len(raws) - 1 or not _PLAIN_CHARS.fullmatch(joined) or ".\n" in joined
            or joined.endswith(".")):
        return None
    try:
        numbers = list(map(float, raws))
    except ValueError:  # '-', '.', '1-2', '1.2.3', '' among them
        return None
    if factor != 1.0:  # (x * 1.0 is x, -0.0 included)
        numbers = list(map(mul, numbers, repeat(factor)))  # (in C: a product a value)
    if not all(map(math.isfinite, numbers)):  # (a 400-digit text is inf)
        return None
    return cast(list[float | None], numbers)


def parse_bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and not (isinstance(raw, float) and math.isnan(raw)):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in {"true", "yes", "y", "ok", "1", "success", "succeeded", "pass", "passed"}:
            return True
        if text in {"false", "no", "n", "0", "fail", "failed", "error", "failure"}:
            return False
    return None


# Half a unit of the last of ``d`` decimals, ``0.5 * 10 ** -d``, for the counts a shown number mostly has:
# the same float the expression gives (it is that expression), looked up rather than raised to a power
# a cell (`_half_unit`; a Markdown table's cells are read one by one)
_HALF_UNIT_COUNTS = 32  # the counts of decimals looked up: 0 to 31
_HALF_UNITS = tuple(0.5 * 10 ** (-count) for count in range(_HALF_UNIT_COUNTS))


def _half_unit(count: int) -> float:
    """``0.5 * 10 ** (-count)`` for any int ``count`` (a negative one is no index into the table)."""
    return _HALF_UNITS[count] if 0 <= count < _HALF_UNIT_COUNTS else 0.5 * 10 ** (-count)


def parse_shown(raw: str, *, factor: float = 1.0, is_time: bool = False) -> tuple[float | None, float]:
    """(`parse_number`, `shown_precision`) of a text, with one match of the pattern."""
    if _PLAIN_DECIMAL.fullmatch(raw):
        value = float(raw) * factor
        dot = raw.find(".")
        precision = _half_unit(len(raw) - dot - 1 if dot >= 0 else 0) * abs(factor)
        return (value if math.isfinite(value) else None), precision
    match = _NUMBER_WITH_UNIT.match(raw)
    if not match:
        return None, 0.0
    return _number_of(match, factor, is_time), _precision_of(match, factor)


def parse_shown_value(raw: Any, *, factor: float = 1.0, is_time: bool = False) -> tuple[float | None, float]:
    """`parse_shown_column` of a column of one value: `parse_shown` of a text, precision 0 for
    anything else (a Markdown `key: value` line is a table of one cell)."""
    if isinstance(raw, str):
        return parse_shown(raw, factor=factor, is_time=is_time)
    return parse_number(raw, factor=factor, is_time=is_time), 0.0


def parse_shown_column(raws: list[Any], *, factor: float = 1.0, is_time: bool = False
                       ) -> tuple[list[float | None], list[float]]:
    """(`parse_number`, precision shown) of each value of a claims column: `parse_shown` of a text,
    precision 0 for anything else. A column of plain decimal texts (a summary CSV's) is read by
    `_plain_column` in C, and its precisions looked up by the number of decimals each text shows:
    `parse_shown` per cell was most of a summary table's reading."""
    numbers = _plain_column(raws, factor) if len(raws) >= 8 else None
    if numbers is not None:
        # A plain decimal (one '.' at most) shows as many decimals as it has characters after its
        # '.' (none without one: `partition` gives ''): counted in C, each count's precision worked
        # out once, as `parse_shown` writes it (a step of Python a cell was most of this function).
        decimals = list(map(len, map(itemgetter(2), map(str.partition, raws, repeat(".")))))
        by_decimals = {count: 0.5 * 10 ** (-count) * abs(factor) for count in set(decimals)}
        return numbers, list(map(by_decimals.__getitem__, decimals))
    numbers = []
    precisions = []
    plain = _PLAIN_DECIMAL.fullmatch
    scale, half_units, counts = abs(factor), _HALF_UNITS, _HALF_UNIT_COUNTS
    for raw in raws:
        if type(raw) is str and plain(raw):  # `parse_shown` of a plain decimal (most cells), without its calls
            value = float(raw) * factor
            shown = len(raw) - raw.find(".") - 1 if "." in raw else 0  # decimals shown (>= 0)
            numbers.append(value if math.isfinite(value) else None)
            precisions.append((half_units[shown] if shown < counts else _half_unit(shown)) * scale)
            continue
        number, precision = parse_shown_value(raw, factor=factor, is_time=is_time)
        numbers.append(number)
        precisions.append(precision)
    return numbers, precisions


def shown_precision(raw: Any, *, factor: float = 1.0) -> float:
    """Half a unit of the last digit the text shows, in canonical units ('0.097 s' -> 0.5 ms)."""
    if isinstance(raw, bool) or raw is None:
        return 0.0
    text = raw if isinstance(raw, str) else repr(raw)
    if _PLAIN_DECIMAL.fullmatch(text):  # the common case, without the pattern: no unit
        dot = text.find(".")
        return 0.5 * 10 ** (-(len(text) - dot - 1 if dot >= 0 else 0)) * abs(factor)
    match = _NUMBER_WITH_UNIT.match(text)
    return _precision_of(match, factor) if match else 0.0


def _precision_of(match: re.Match[str], factor: float) -> float:
    number = match.group("num")
    decimals = len(number.split(".", 1)[1]) if "." in number and "e" not in number.lower() else 0
    unit = match.group("unit")
    scale = _TIME_UNITS.get(unit, factor) if unit in _TIME_UNITS else factor
    return 0.5 * 10 ** (-decimals) * abs(scale)
