"""Slack text, safe and within limits (pure): escaping untrusted text, splitting long text,
and reading Slack markup back as plain words.

Limits: Block Kit section text 3,000 characters, header 150, message text ~4,000
(chat.postMessage / chat.update).
"""

from __future__ import annotations

import re

from bot.core.redact import redact_secrets
from bot.core.text import strip_bidi

SECTION_TEXT_LIMIT = 3000  # Block Kit section text
MESSAGE_TEXT_LIMIT = 4000  # practical limit for chat.postMessage / chat.update `text`
HEADER_TEXT_LIMIT = 150  # Block Kit header (plain_text)

_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text (file contents, model output) inert in Slack mrkdwn.

    Escaping ``& < >`` turns ``<!channel>``, ``<@U123>``, ``<!subteam^S1>`` and ``<http://x|label>``
    into visible literal text; a zero-width space after ``@`` keeps a bare ``@here`` from ever
    being linked into a mention (e.g. if someone later enables ``link_names``). Bidirectional
    controls are stripped and URL credentials redacted (`untrusted`).
    """
    escaped = untrusted(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u200b", escaped)


def escape_plain(text: str) -> str:
    """For plain_text fields (headers, file titles). Slack does not parse mentions there, but we
    never rely on that: angle brackets become look-alike quotes and broadcasts stay inert."""
    return _BROADCAST.sub("@\u200b", untrusted(text).replace("<", "\u2039").replace(">", "\u203a"))


def untrusted(text: str) -> str:
    """What every untrusted text loses before Slack shows it: bidirectional control characters
    (a right-to-left override can make a model name read backwards) and URL credentials."""
    return redact_secrets(strip_bidi(text))


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, preferring paragraph, line and
    word boundaries. Never returns an empty list for non-empty text; never loses characters
    other than the whitespace at a split point."""
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep, 0, limit + 1)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
            chunks.append(rest[:cut])
            rest = rest[cut:]
        else:
            chunks.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
    if rest.strip() or not chunks:
        chunks.append(rest)
    return [c for c in chunks if c] or [""]


def split_escaped(text: str, limit: int, *, _raw_limit: int | None = None) -> list[str]:
    """Escape untrusted text and split it so that every *escaped* chunk fits ``limit``.

    Splitting the raw text first means an entity such as ``&amp;`` is never cut in half; a raw
    chunk that escaping grew past the limit is split again, smaller.
    """
    raw_limit = _raw_limit or limit
    out: list[str] = []
    for raw in split_text(untrusted(text), raw_limit):
        piece = escape_mrkdwn(raw)
        if len(piece) <= limit or raw_limit == 1:
            out.append(piece)
        else:
            out.extend(split_escaped(raw, limit, _raw_limit=max(1, raw_limit // 2)))
    return out


_SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>|<([^<>]*)>")


def slack_to_plain(text: str) -> str:
    """Slack markup of a message as plain words: ``<@U1>`` -> ``@U1``, ``<url|label>`` -> ``label``."""
    return _SLACK_LINK.sub(lambda m: m.group(2) if m.group(2) is not None else (m.group(3) or ""), text)
