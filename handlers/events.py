"""Event listeners: @mentions, thread follow-ups and direct messages.

- A reply in a report thread (a thread whose parent is a stored run's message, in that channel),
  or an @mention inside one, is a question about that run: exactly one answer in the thread
  (`bot.flows.thread_answer`). "analyze …", "help" and "status" in such a thread still work as commands.
- `@Chimera analyze <name>` elsewhere (or `analyze <name>` in a DM with the bot) starts the same
  analysis as the slash command; any other mention gets the short usage in a thread reply.
- Threads that are not the bot's, the bot's own messages (any bot's), edits, deletions and other
  subtypes are ignored. A message that mentions the bot arrives twice (``app_mention`` and
  ``message``); only the mention handles it.

Exactly once: retried deliveries are dropped by event_id in `handlers.registry` (in memory), and
every action that posts claims its message in the database first (``store.events.mark_event_seen`` with a
key per message), so a retry after a restart, or on another replica, never posts twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.adapters.slack import SlackOps
from bot.errors import ChimeraError, QueueFull, SlackCallFailed, UsageError
from bot.flows.analysis_job import start_analysis
from bot.flows.compare import start_compare
from bot.flows.services import Services
from bot.flows.thread_answer import ThreadAnswer
from handlers.commands import USAGE, parse_command, status_text

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_COMMAND_WORDS = {"analyze", "compare", "help", "status", "-h", "--help"}
# Replies that are not questions: answering "thanks" would be noise.
_NOT_A_QUESTION = re.compile(
    r"^(?:thanks?(?: you)?|thx|ty|ok(?:ay)?|cool|great|nice|got it|perfect|:[\w+\-]+:|\W)*$",
    re.IGNORECASE,
)
# Subtypes that are still a person writing in the thread.
_HUMAN_SUBTYPES = {"thread_broadcast"}


def _is_from_a_human(event: dict[str, Any]) -> bool:
    subtype = event.get("subtype")
    return (not subtype or subtype in _HUMAN_SUBTYPES) and not event.get("bot_id") and bool(event.get("user"))


def _reply(services: Services, client: WebClient, event: dict[str, Any], text: str) -> None:
    """Answer the requester: in the thread for a channel mention, ephemerally for problems."""
    ops = SlackOps(client)
    thread_ts = event.get("thread_ts") or event.get("ts")
    try:
        ops.post(channel=event["channel"], text=text, thread_ts=thread_ts)
    except SlackCallFailed as err:
        log.warning("could not reply to %s in %s: %s", event.get("user"), event.get("channel"), err.code)


def _first_time(services: Services, key: str) -> bool:
    """Claim ``key`` in the database; False when any process (this one before a restart, or
    another replica) already did. Without a database the in-memory event_id check is all we have."""
    store = services.store
    if store is None:
        return True
    try:
        return store.events.mark_event_seen(key)
    except ChimeraError as err:  # database trouble: answering twice beats never answering
        log.warning("could not record event %s: %s", key, err)
        return True


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
    if not _first_time(services, f"command:{channel}:{event.get('ts', '')}"):
        return
    try:
        if parsed.comparison is not None:
            notify(start_compare(services, ops, comparison=parsed.comparison, channel=channel, user=user,
                                 notify=notify))
            return
        confirmation = start_analysis(services, ops, target=parsed.target, use_llm=parsed.use_llm,
                                      channel=channel, user=user, notify=notify,
                                      trigger="mention")
    except ChimeraError as err:
        notify(f":warning: {err}")
        return
    notify(confirmation)


def _is_command(text: str) -> bool:
    words = text.split(maxsplit=1)
    return bool(words) and words[0].lower() in _COMMAND_WORDS


def _answer_if_report_thread(services: Services, client: WebClient, event: dict[str, Any], text: str,
                             bot_user_id: str | None) -> bool:
    """Answer a question in one of our report threads. False when the thread is not one."""
    thread_ts, channel = event.get("thread_ts"), event.get("channel")
    store = services.store
    if not thread_ts or not channel or store is None or thread_ts == event.get("ts"):
        return False
    try:
        run = store.runs.run_for_thread(channel=channel, thread_ts=thread_ts)
    except ChimeraError as err:
        log.warning("could not look up the thread %s/%s: %s", channel, thread_ts, err)
        return False
    if run is None:
        return False
    if _NOT_A_QUESTION.match(text):
        return True
    if not _first_time(services, f"answer:{channel}:{event.get('ts', '')}"):
        log.info("already answered %s/%s", channel, event.get("ts"))
        return True
    answer = ThreadAnswer(services=services, poster=SlackOps(client), run=run, channel=channel, thread_ts=thread_ts,
                          question=text, question_ts=str(event.get("ts", "")), bot_user_id=bot_user_id)
    if services.answers is None:
        answer.run_answer()
        return True
    try:
        services.answers.submit(f"answer in {channel}/{thread_ts}", answer.run_answer, on_cancel=answer.cancel)
    except QueueFull:
        _reply(services, client, event, ":warning: I'm answering a lot of questions right now. "
                                        "Please ask again in a minute.")
    except ChimeraError as err:  # PoolClosed: the bot is restarting
        _reply(services, client, event, f":warning: {err}")
    return True


def make_app_mention(services: Services) -> Callable[..., None]:
    def app_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not _is_from_a_human(event):
            return
        text = _MENTION.sub("", event.get("text", "")).strip()
        if not _is_command(text) and _answer_if_report_thread(services, client, event, text,
                                                              context.bot_user_id):
            return
        _handle_text(services, client, event, text)

    return app_mention


def make_message(services: Services) -> Callable[..., None]:
    def message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not _is_from_a_human(event):
            return
        text = event.get("text", "") or ""
        if event.get("thread_ts"):
            bot_user_id = context.bot_user_id
            if bot_user_id and f"<@{bot_user_id}" in text and event.get("channel_type") != "im":
                return  # the app_mention event for this same message answers it
            _answer_if_report_thread(services, client, event, _MENTION.sub("", text).strip(), bot_user_id)
            return
        # Top-level messages: only DMs to the bot are commands. Slack sends no app_mention in a
        # DM, so "@Chimera analyze x" typed there arrives here, mention and all.
        if event.get("channel_type") == "im":
            _handle_text(services, client, event, _MENTION.sub("", text).strip())

    return message
