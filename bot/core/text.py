"""Plain-text helpers shared by every layer."""

from __future__ import annotations

import re


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``marker`` when cut."""
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


# Bidirectional controls: embeddings/overrides (U+202A-U+202E), isolates (U+2066-U+2069), the
# left-to-right/right-to-left marks (U+200E/F) and the Arabic letter mark (U+061C). In untrusted
# text they can make a model name or a number read backwards ("Trojan Source").
_BIDI = "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"


_LONE_SURROGATE = "[\ud800-\udfff]"  # surrogate code points (read from a JSON "\ud800" escape without its pair)


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters, and with each lone surrogate as U+FFFD:
    the archive's texts keep them as read, but UTF-8 cannot encode one, so a report or Slack text
    holding one could be neither written nor sent."""
    # a pattern, not str.translate: translate looks every character up in a dict (15 ms for a report
    # of 130,000 characters), the pattern's scan is in C (well under 1 ms)
    return encodable(re.sub(_BIDI, "", text))


def encodable(text: str) -> str:
    """``text`` with each lone surrogate as U+FFFD, so that it can be encoded as UTF-8 (a database
    driver, a file, Slack); everything else as it is."""
    return text if text.isascii() else re.sub(_LONE_SURROGATE, "\ufffd", text)
