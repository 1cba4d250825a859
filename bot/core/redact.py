"""Secrets never leave: the one redaction every outgoing text and log line goes through (pure).

`redact_secrets` hides the credentials of URLs (``http://user:pw@host`` -> ``http://***@host``)
and Slack tokens (``xoxb-…``, ``xapp-…``). Adapters apply it to what they build from settings
(``OLLAMA_HOST``, storage roots), render applies it to every Slack text and report it produces,
and the log handlers carry `bot.logs.RedactingFilter` as belt and braces.
"""

from __future__ import annotations

import re

REDACTED = "***"
# scheme://userinfo@ : the userinfo runs to the last '@' before the host's end ('/', '?', '#',
# whitespace), so a password with an unescaped '@' is hidden whole.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s<>|]*@")
# Slack tokens: bot, user, app-level, refresh and configuration tokens.
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abpre]|app|oxe\.xox[bp])-[A-Za-z0-9-]{6,}")


def redact_secrets(text: str) -> str:
    """``text`` with URL credentials and Slack tokens replaced by ``***`` (idempotent)."""
    # Each pattern runs only where a match could be: on the lines holding both "://" and "@" (a match
    # holds no whitespace), and on text holding a token's start. A report is 130,000 characters, and
    # ruling out every word as a URL scheme took the first pattern ~8 ms.
    if "@" in text and "://" in text:
        text = "\n".join(_URL_CREDENTIALS.sub(_hide_credentials, line) if "@" in line and "://" in line else line
                         for line in text.split("\n"))
    if "xox" in text or "xapp" in text:
        text = _SLACK_TOKEN.sub(REDACTED, text)
    return text


def _hide_credentials(match: re.Match[str]) -> str:
    return f"{match.group(1)}{REDACTED}@"
