"""Plain-text helpers shared by every layer."""

from __future__ import annotations


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``marker`` when cut."""
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


# Bidirectional controls: embeddings/overrides (U+202A-U+202E), isolates (U+2066-U+2069), the
# left-to-right/right-to-left marks (U+200E/F) and the Arabic letter mark (U+061C). In untrusted
# text they can make a model name or a number read backwards ("Trojan Source").
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters."""
    return text.translate(_BIDI)
