"""Strict JSON values: what users' tooling and PostgreSQL's JSON type accept."""

from __future__ import annotations

import math
from typing import Any


def strict_json(value: Any) -> Any:
    """A copy with NaN/inf as None, tuples as lists and numpy scalars as Python numbers."""
    # A report's document holds ~36,000 values, mostly plain strings, ints and dicts: those exact
    # types are settled first (the same result as the general rules below, in a third of the time).
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            return strict_json(value.item())  # numpy scalar
        except (TypeError, ValueError):
            return value
    return value
