"""Talking to the Slack Web API: the client, safe text, long-text splitting, throttled progress.

Everything that calls Slack on behalf of an analysis goes through `SlackOps`, which converts
`slack_sdk` errors once, here, into `SlackCallFailed` (a `bot.errors.SlackDeliveryError`) whose
`str()` tells the user what to do.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.errors import SlackDeliveryError
from bot.settings import Settings

log = logging.getLogger(__name__)

SECTION_TEXT_LIMIT = 3000  # Block Kit section text
MESSAGE_TEXT_LIMIT = 4000  # practical limit for chat.postMessage / chat.update `text`
HEADER_TEXT_LIMIT = 150  # Block Kit header (plain_text)

_USER_HINTS: dict[str, str] = {
    "not_in_channel": "I'm not a member of this channel. Invite me with `/invite @Chimera Insight`, "
    "then run the command again.",
    "channel_not_found": "I can't post in this conversation (a private channel or a DM I'm not part "
    "of). Invite me to the channel, or run the command in a channel I'm in or in a DM with me.",
    "is_archived": "This channel is archived, so I can't post in it. Run the command in another channel.",
    "ratelimited": "Slack is rate-limiting me right now. Please try again in a minute.",
    "msg_too_long": "The message was too long for Slack. The full report is in the thread file.",
    "restricted_action": "A workspace setting stops me from posting here. Ask an admin, or use "
    "another channel.",
}


class SlackCallFailed(SlackDeliveryError):
    """A Slack Web API call failed. ``code`` is Slack's error code (or the client failure kind)."""

    def __init__(self, method: str, code: str) -> None:
        self.method = method
        self.code = code
        hint = _USER_HINTS.get(
            code,
            f"Slack refused my `{method}` call ({code}). Please try again; if it keeps failing, "
            "ask whoever runs the bot to check its log.",
        )
        super().__init__(hint)


def build_web_client(settings: Settings) -> WebClient:
    """A WebClient for ``settings.slack_api_url`` that waits out 429s (Retry-After) and reconnects."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=30,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


# --- safe text ----------------------------------------------------------------------------------

_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text (file contents, model output) inert in Slack mrkdwn.

    Escaping ``& < >`` turns ``<!channel>``, ``<@U123>``, ``<!subteam^S1>`` and ``<http://x|label>``
    into visible literal text; a zero-width space after ``@`` keeps a bare ``@here`` from ever
    being linked into a mention (e.g. if someone later enables ``link_names``).
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u200b", escaped)


def escape_plain(text: str) -> str:
    """For plain_text fields (headers, file titles). Slack does not parse mentions there, but we
    never rely on that: angle brackets become look-alike quotes and broadcasts stay inert."""
    return _BROADCAST.sub("@\u200b", text.replace("<", "\u2039").replace(">", "\u203a"))


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
    for raw in split_text(text, raw_limit):
        piece = escape_mrkdwn(raw)
        if len(piece) <= limit or raw_limit == 1:
            out.append(piece)
        else:
            out.extend(split_escaped(raw, limit, _raw_limit=max(1, raw_limit // 2)))
    return out


def truncate(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


# --- throttled progress -------------------------------------------------------------------------


class Throttle:
    """Allows an action at most once per ``interval_s`` (by the injected clock); thread-safe."""

    def __init__(self, *, interval_s: float, clock: Callable[[], float]) -> None:
        self._interval = interval_s
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def ready(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self._interval:
                return False
            self._last = now
            return True


# --- calls --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    title: str


class SlackOps:
    """The few Web API calls an analysis makes, with errors converted to `SlackCallFailed`."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(self, method: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except SlackApiError as err:
            code = str(err.response.get("error") or f"http_{err.response.status_code}")
            log.warning("slack %s failed: %s", method, code)
            raise SlackCallFailed(method, code) from err
        except (SlackClientError, OSError) as err:  # connection problems, upload URL failures
            log.warning("slack %s failed: %s", method, type(err).__name__, exc_info=True)
            raise SlackCallFailed(method, "connection_failed") from err

    def post(self, *, channel: str, text: str, blocks: Sequence[dict] | None = None,
             thread_ts: str | None = None) -> str:
        """chat.postMessage; returns the message ts."""
        resp = self._call(
            "chat.postMessage", self.client.chat_postMessage, channel=channel,
            text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=list(blocks) if blocks else None,
            thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
        )
        return str(resp["ts"])

    def update(self, *, channel: str, ts: str, text: str, blocks: Sequence[dict] | None = None) -> None:
        self._call(
            "chat.update", self.client.chat_update, channel=channel, ts=ts,
            text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=list(blocks) if blocks is not None else None,
        )

    def ephemeral(self, *, channel: str, user: str, text: str) -> None:
        self._call("chat.postEphemeral", self.client.chat_postEphemeral, channel=channel, user=user,
                   text=truncate(text, MESSAGE_TEXT_LIMIT))

    def upload(self, *, channel: str, thread_ts: str, files: Sequence[Upload], attempts: int = 2) -> None:
        """files_upload_v2 into a thread. The whole upload is retried once: a failed POST to the
        upload URL or a failed completion leaves nothing visible, so a retry cannot duplicate."""
        last: SlackCallFailed | None = None
        for attempt in range(1, attempts + 1):
            try:
                self._call(
                    "files.upload", self.client.files_upload_v2, channel=channel, thread_ts=thread_ts,
                    file_uploads=[{"content": f.content, "filename": f.filename, "title": f.title}
                                  for f in files],
                )
                return
            except SlackCallFailed as err:
                last = err
                log.info("upload attempt %d/%d failed: %s", attempt, attempts, err.code)
                if err.code in {"not_in_channel", "channel_not_found", "is_archived", "invalid_auth"}:
                    break
        assert last is not None
        raise last
