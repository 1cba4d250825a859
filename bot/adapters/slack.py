"""Talking to the Slack Web API: the client and the few calls the flows make (the `SlackPoster` port).

Everything that calls Slack on behalf of an analysis goes through `SlackOps`, which converts
`slack_sdk` errors once, here, into `SlackCallFailed` (a `bot.errors.SlackDeliveryError`) whose
`str()` tells the user what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.core.text import truncate
from bot.errors import SlackCallFailed
from bot.flows.ports import Upload
from bot.render.slack_text import MESSAGE_TEXT_LIMIT
from bot.settings import Settings

log = logging.getLogger(__name__)

def build_web_client(settings: Settings, *, timeout_s: float = 30, retries: bool = True) -> WebClient:
    """A WebClient for ``settings.slack_api_url`` that waits out 429s (Retry-After) and reconnects;
    ``retries=False``: one try, a 429 or a dropped connection is an error at once (with a short
    ``timeout_s``: calls that must land soon or not at all, like queue position edits)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=int(max(1, timeout_s)),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ] if retries else [],
    )


# --- calls --------------------------------------------------------------------------------------


THREAD_PAGES = 5  # conversations.replies pages read at most (200 messages each)
QUICK_TIMEOUT_S = 2  # s: a Web API call made while a listener waits (the socket timeout, one try)
# Message metadata tagging a message with the work it shows (see SlackOps.find_marked): a replica
# taking over work whose message was posted but not yet recorded finds it instead of posting another.
MARKER_EVENT = "chimera_work"


class SlackOps:
    """The `bot.flows.ports.SlackPoster` port on a `WebClient`: the few Web API calls the flows
    make, with errors converted to `SlackCallFailed`."""

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
             thread_ts: str | None = None, marker: str | None = None) -> str:
        """chat.postMessage; returns the message ts. ``marker`` goes in the message's metadata."""
        resp = self._call(
            "chat.postMessage", self.client.chat_postMessage, channel=channel,
            text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=list(blocks) if blocks else None,
            thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
            metadata={"event_type": MARKER_EVENT, "event_payload": {"marker": marker}} if marker else None,
        )
        return str(resp["ts"])

    def find_marked(self, *, channel: str, marker: str, oldest: float, thread_ts: str | None = None) -> str | None:
        """Our message tagged ``marker`` (conversations.history, or .replies for a thread, with
        metadata) since ``oldest``; None when there is none or Slack cannot say."""
        since = f"{max(0.0, oldest):.6f}"
        try:
            if thread_ts:
                resp = self.client.conversations_replies(channel=channel, ts=thread_ts, oldest=since, limit=200,
                                                         include_all_metadata=True)
            else:
                resp = self.client.conversations_history(channel=channel, oldest=since, limit=200,
                                                         include_all_metadata=True)
        except (SlackApiError, SlackClientError, OSError) as err:
            log.warning("could not look for message %s in %s: %s", marker, channel, type(err).__name__)
            return None
        for message in resp.get("messages") or []:
            metadata = message.get("metadata") or {} if isinstance(message, Mapping) else {}
            if metadata.get("event_type") == MARKER_EVENT and (metadata.get("event_payload") or {}).get(
                    "marker") == marker:
                return str(message.get("ts"))
        return None

    def update(self, *, channel: str, ts: str, text: str, blocks: Sequence[dict] | None = None) -> None:
        self._call(
            "chat.update", self.client.chat_update, channel=channel, ts=ts,
            text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=list(blocks) if blocks is not None else None,
        )

    def delete(self, *, channel: str, ts: str) -> None:
        self._call("chat.delete", self.client.chat_delete, channel=channel, ts=ts)

    def ephemeral(self, *, channel: str, user: str, text: str) -> None:
        self._call("chat.postEphemeral", self.client.chat_postEphemeral, channel=channel, user=user,
                   text=truncate(text, MESSAGE_TEXT_LIMIT))

    def respond(self, *, response_url: str, text: str) -> None:
        """An ephemeral reply through a slash command's response_url (works 30 minutes, 5 times)."""
        try:
            resp = WebhookClient(response_url, timeout=10).send(
                text=truncate(text, MESSAGE_TEXT_LIMIT), response_type="ephemeral", replace_original=False)
        except (SlackClientError, OSError) as err:
            log.warning("slack respond failed: %s", type(err).__name__)
            raise SlackCallFailed("response_url", "connection_failed") from err
        if resp.status_code != 200:
            log.warning("slack respond failed: HTTP %s", resp.status_code)
            raise SlackCallFailed("response_url", f"http_{resp.status_code}")

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

    def is_workspace_admin(self, user: str, *, timeout_s: int = QUICK_TIMEOUT_S) -> bool:
        """users.info: is ``user`` a workspace admin or owner? Called from a listener, so one try
        with a short timeout (no retries, no waiting out a rate limit); raises `SlackCallFailed`."""
        quick = WebClient(token=self.client.token, base_url=self.client.base_url, timeout=timeout_s,
                          retry_handlers=[])
        resp = self._call("users.info", quick.users_info, user=user)
        info = resp.get("user") or {}
        return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))

    def thread_messages(self, *, channel: str, thread_ts: str) -> list[Mapping[str, Any]]:
        """The thread via conversations.replies (oldest first); an unreadable thread is no messages."""
        messages: list[Mapping[str, Any]] = []
        cursor: str | None = None
        try:
            for _page in range(THREAD_PAGES):
                resp = self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200, cursor=cursor)
                messages.extend(m for m in resp.get("messages") or [] if isinstance(m, Mapping))
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not resp.get("has_more") or not cursor:
                    break
        except (SlackApiError, SlackClientError, OSError) as err:
            log.warning("could not read thread %s/%s: %s", channel, thread_ts, type(err).__name__)
        return messages
