"""Event listeners: @mentions and direct messages.

`@Chimera analyze <name>` (in a channel) or `analyze <name>` (in a DM with the bot) starts the same
analysis as the slash command; anything else gets the usage in a thread reply. Edits, deletions,
other subtypes and bot messages (ours included) are ignored. Retried deliveries are dropped
earlier, in `handlers.registry` (seen event_id).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.errors import ChimeraError
from bot.services import Services
from bot.slack_ops import SlackCallFailed, SlackOps
from handlers.commands import (
    USAGE,
    UsageError,
    parse_command,
    start_analysis,
    status_text,
)

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def _is_from_a_human(event: dict[str, Any]) -> bool:
    return not event.get("subtype") and not event.get("bot_id") and bool(event.get("user"))


def _reply(services: Services, client: WebClient, event: dict[str, Any], text: str) -> None:
    """Answer the requester: in the thread for a channel mention, ephemerally for problems."""
    ops = SlackOps(client)
    thread_ts = event.get("thread_ts") or event.get("ts")
    try:
        ops.post(channel=event["channel"], text=text, thread_ts=thread_ts)
    except SlackCallFailed as err:
        log.warning("could not reply to %s in %s: %s", event.get("user"), event.get("channel"), err.code)


def _handle_text(services: Services, client: WebClient, event: dict[str, Any], text: str) -> None:
    channel, user = event["channel"], event["user"]
    ops = SlackOps(client)

    def notify(message: str) -> None:
        try:
            ops.ephemeral(channel=channel, user=user, text=message)
        except SlackCallFailed as err:
            log.warning("could not send an ephemeral to %s: %s", user, err.code)

    try:
        parsed = parse_command(text)
    except UsageError as err:
        _reply(services, client, event, str(err))
        return
    if parsed.action == "help":
        _reply(services, client, event, USAGE.replace("/chimera ", "@Chimera "))
        return
    if parsed.action == "status":
        _reply(services, client, event, status_text(services))
        return
    try:
        confirmation = start_analysis(services, client, target=parsed.target, use_llm=parsed.use_llm,
                                      channel=channel, user=user, notify=notify)
    except ChimeraError as err:
        notify(f":warning: {err}")
        return
    notify(confirmation)


def make_app_mention(services: Services) -> Callable[..., None]:
    def app_mention(event: dict[str, Any], client: WebClient) -> None:
        if not _is_from_a_human(event):
            return
        _handle_text(services, client, event, _MENTION.sub("", event.get("text", "")).strip())

    return app_mention


def make_message(services: Services) -> Callable[..., None]:
    def message(event: dict[str, Any], client: WebClient) -> None:
        # Only top-level DMs to the bot are commands. Channel messages arrive for thread
        # follow-ups (a later feature); mentions there come through app_mention instead.
        if not _is_from_a_human(event) or event.get("channel_type") != "im" or event.get("thread_ts"):
            return
        _handle_text(services, client, event, event.get("text", "").strip())

    return message
