"""How the product writes a number: one function, four precisions, each named for where it is used.

- ``"statement"``: inside a fact's statement and the report's tables (``290.0 tok/s``, ``1,234 ms``,
  ``0.0506 ms``): a fixed number of decimals per unit, so a column of figures lines up.
- ``"value"``: a fact's value where it is cited (the model's prompt, the narrative, Slack
  answers): as short as the value allows (``290 tok/s`` for 290.0, ``12.5%``), and never shorter
  than grounding can match back to the fact.
- ``"figure"``: a Slack callout's number alone (one decimal from 10 to 1,000).
- ``"change"``: a digest's before → after medians (three significant digits, whole from 100).

Every figure we post is one of these; the grounding check (`bot.core.grounding`) reads all four.
Core lives below render, so the formatter is here: fact statements are written in core.
"""

from __future__ import annotations

import math
from typing import Literal

NumberStyle = Literal["statement", "value", "figure", "change"]

# Units that are plain counts: written without a unit and matched like a bare number.
COUNT_UNITS = frozenset({"", "count", "requests", "request", "failures", "files", "runs", "rows", "n"})


def format_number(value: float | None, unit: str = "", *, style: NumberStyle) -> str:
    """``value`` (in ``unit``) written the ``style`` way; ``"n/a"`` when there is no value."""
    if value is None:
        return "n/a"
    if style == "statement":
        return _statement(value, unit)
    if style == "value":
        return _value(value, unit)
    if style == "figure":
        return _figure(value)
    return _change(value)


def _statement(value: float, unit: str) -> str:
    if unit in {"requests", "files", "tokens", "count", ""} and float(value).is_integer():
        text = f"{int(value):,}"
    elif unit == "%":
        text = f"{value:.1f}"
    elif unit == "tok/s":
        text = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    elif unit == "ms":
        if abs(value) >= 100:
            text = f"{value:,.0f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        elif abs(value) >= 1:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3g}"
    elif unit == "p":
        text = f"{value:.3g}"
    else:
        text = f"{value:,.3g}"
    return f"{text} {unit}".strip() if unit not in {"", "p"} else text


def _value(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return f"{value} {unit}".strip()
    magnitude = abs(value)
    if float(value).is_integer() and magnitude < 1e15:
        number = f"{int(value):,}"
    elif magnitude >= 1000:
        number = f"{value:,.0f}"
    elif magnitude >= 10:
        number = f"{value:.1f}"
    elif magnitude >= 1:
        number = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        number = f"{value:.3g}"
    clean = unit.strip()
    if clean.lower() in COUNT_UNITS:
        return number
    if clean in {"%", "x", "×"}:
        return f"{number}{clean}"
    return f"{number} {clean}"


def _figure(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def _change(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
