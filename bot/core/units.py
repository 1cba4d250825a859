"""Units of measurement: compared, converted, or refused — never silently mixed (pure).

A unit string is read as a *dimension* and a factor to that dimension's base unit: ``ms`` is a time
(1e-3 s), ``tok/min`` a token rate (1/60 tok/s), ``ms/token`` a time per token. Two units convert
into each other exactly when their dimensions agree; an unknown unit is its own dimension and only
ever equals itself. So ``tok/min`` → ``tok/s`` divides by 60, while ``GB`` → ``ms`` raises
`UnitMismatch` (a comparison of the two would be "+5863 %" nonsense, and is refused instead).
"""

from __future__ import annotations

import re

__all__ = ["UnitMismatch", "convert_unit", "same_dimension", "unit_factor"]


class UnitMismatch(ValueError):
    """Two units that cannot be converted into each other."""


_TIME_S = {
    "ns": 1e-9, "nanosecond": 1e-9, "nanoseconds": 1e-9,
    "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "microsecond": 1e-6, "microseconds": 1e-6,
    "ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3, "msec": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
}
_COUNTS = {"tok": "tok", "toks": "tok", "token": "tok", "tokens": "tok", "t": "tok",
           "req": "req", "reqs": "req", "request": "req", "requests": "req"}
_ALIASES = {"tps": "tok/s", "tok_s": "tok/s", "tokens_per_second": "tok/s", "tokens_per_sec": "tok/s",
            "rps": "req/s", "req_s": "req/s"}


def _parse_unit(unit: str) -> tuple[str, float]:
    """(dimension, factor to that dimension's base unit). Unknown units are their own dimension."""
    text = re.sub(r"\s+", " ", unit.strip().lower())
    text = _ALIASES.get(text.replace(" ", "_"), text)
    text = text.replace(" per ", "/").replace(" ", "")
    if text in _TIME_S:
        return "time", _TIME_S[text]
    if text in _COUNTS:
        return _COUNTS[text], 1.0
    if "/" in text:
        num, _, den = text.partition("/")
        if num in _COUNTS and den in _TIME_S:
            return f"{_COUNTS[num]}/time", 1.0 / _TIME_S[den]
        if num in _TIME_S and den in _COUNTS:  # ms/token: time per token
            return f"time/{_COUNTS[den]}", _TIME_S[num]
    return f"?{text}", 1.0


def unit_factor(from_unit: str, to_unit: str) -> float:
    """Multiply a value in ``from_unit`` by this to express it in ``to_unit``; `UnitMismatch` when
    the two are not the same kind of quantity (or either is unknown and they differ)."""
    if from_unit.strip() == to_unit.strip():
        return 1.0
    dim_a, fa = _parse_unit(from_unit)
    dim_b, fb = _parse_unit(to_unit)
    if dim_a != dim_b or dim_a.startswith("?"):
        raise UnitMismatch(f"cannot compare {from_unit!r} with {to_unit!r}")
    return fa / fb


def convert_unit(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``; raises `UnitMismatch` when impossible."""
    return value * unit_factor(from_unit, to_unit)


def same_dimension(a: str, b: str) -> bool:
    """The two units measure the same kind of quantity (convertible into each other)."""
    try:
        unit_factor(a, b)
    except UnitMismatch:
        return False
    return True
