"""Plain-text helpers shared by every layer."""

from __future__ import annotations


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``marker`` when cut."""
    return text if len(text) <= limit else text[: limit - len(marker)] + marker
