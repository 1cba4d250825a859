"""Event listeners: @mentions, thread follow-ups and direct messages.

- A reply in a report thread (a thread whose parent is a stored run's message, in that channel),
  or an @mention inside one, is a question about that run: exactly one answer in the thread
  (`bot.flows.thread_answer`). "analyze …", "help" and "status" in such a thread still work as commands.
- `@Chimera analyze <name>` elsewhere (or `analyze <name>` in a DM with the bot) starts the same
  analysis as the slash command; any other mention gets the short usage in a thread reply.
- Threads that are not the bot's, the bot's own messages (any bot's), edits, deletions and other
  subtypes are ignored. A message that mentions the bot arrives twice (``app_mention`` and
  ``message``); only the mention handles it.

Two steps, because Bolt acknowledges an event *before* its listener runs:

1. `intake` (run by the middleware in `handlers.registry`, before the ack) decides what the event
   asks for and makes it durable: an analysis or an answer becomes a task in the database, a reply
   (help, status, usage) claims its message there. Keys are per Slack message, so a retried or
   duplicated delivery — on this replica, another one, or after a restart — is handled once.
   When the database is unreachable the middleware answers Slack with an error, and Slack delivers
   the event again later (or, on its last attempt, the user is told).
2. The listener (after the ack, in `Services.side`: off Bolt's listener threads) carries out the
   Slack side that intake left: post the reply (a status reply waits, boundedly, for the Ollama
   check), send the requester their confirmation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.adapters.slack import SlackOps
from bot.errors import QueueFull, SlackCallFailed, UsageError
from bot.flows.intake import announce, claim_reply, queue_analysis, queue_answer, queue_compare
from bot.flows.services import Services
from handlers.commands import USAGE, parse_command, status_text

log = logging.getLogger(__name__)

# What is left to do in Slack once the event is acknowledged (run by the listener).
Effect = Callable[[WebClient], None]
EFFECT = "chimera_effect"  # where intake leaves it in Bolt's context

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


def _is_command(text: str) -> bool:
    words = text.split(maxsplit=1)
    return bool(words) and words[0].lower() in _COMMAND_WORDS


def reply_in_thread(event: dict[str, Any], text: str | Callable[[], str]) -> Effect:
    """Answer in the event's thread (a channel mention's reply starts one)."""

    def post(client: WebClient) -> None:
        thread_ts = event.get("thread_ts") or event.get("ts")
        try:
            SlackOps(client).post(channel=event["channel"], text=text() if callable(text) else text,
                                  thread_ts=thread_ts)
        except SlackCallFailed as err:
            log.warning("could not reply to %s in %s: %s", event.get("user"), event.get("channel"), err.code)

    return post


def tell_user(event: dict[str, Any], text: str) -> Effect:
    """An ephemeral message to the event's author."""

    def send(client: WebClient) -> None:
        try:
            SlackOps(client).ephemeral(channel=event["channel"], user=event["user"], text=text)
        except SlackCallFailed as err:
            log.warning("could not send an ephemeral to %s: %s", event.get("user"), err.code)

    return send


# --- intake (before the ack; may raise StoreError) ------------------------------------------------


def intake(services: Services, event: dict[str, Any], *, bot_user_id: str | None) -> Effect | None:
    """Decide what ``event`` asks for and make it durable; returns what is left to do in Slack."""
    if not _is_from_a_human(event):
        return None
    if event.get("type") == "app_mention":
        text = _MENTION.sub("", event.get("text", "")).strip()
        if not _is_command(text):
            handled, effect = _answer_if_report_thread(services, event, text, bot_user_id)
            if handled:
                return effect
        return _handle_text(services, event, text)
    if event.get("type") != "message":
        return None
    text = event.get("text", "") or ""
    if event.get("thread_ts"):
        if bot_user_id and f"<@{bot_user_id}" in text and event.get("channel_type") != "im":
            return None  # the app_mention event for this same message answers it
        return _answer_if_report_thread(services, event, _MENTION.sub("", text).strip(), bot_user_id)[1]
    # Top-level messages: only DMs to the bot are commands. Slack sends no app_mention in a DM, so
    # "@Chimera analyze x" typed there arrives here, mention and all.
    if event.get("channel_type") == "im":
        return _handle_text(services, event, _MENTION.sub("", text).strip())
    return None


def _handle_text(services: Services, event: dict[str, Any], text: str) -> Effect | None:
    channel, user = event["channel"], event["user"]
    key = f"command:{channel}:{event.get('ts', '')}"
    try:
        parsed = parse_command(text)
    except UsageError as err:
        return reply_in_thread(event, str(err)) if claim_reply(services, key) else None
    if parsed.action == "help":
        return reply_in_thread(event, USAGE.replace("/chimera ", "@Chimera ")) if claim_reply(services, key) else None
    if parsed.action == "status":
        return reply_in_thread(event, lambda: status_text(services)) if claim_reply(services, key) else None
    try:
        if parsed.comparison is not None:
            confirmation = queue_compare(services, comparison=parsed.comparison, channel=channel, user=user,
                                         key=key)
            return None if confirmation is None else tell_user(event, confirmation)
        accepted = queue_analysis(services, target=parsed.target, use_llm=parsed.use_llm, channel=channel,
                                  user=user, trigger="mention", key=key)
    except QueueFull as err:
        return tell_user(event, f":warning: {err}") if claim_reply(services, key) else None
    if accepted is None:
        return None
    confirm = tell_user(event, accepted.confirmation)

    def parent_then_confirm(client: WebClient) -> None:  # the channel first: it is what people watch
        announce(services, accepted)
        confirm(client)

    return parent_then_confirm


def _answer_if_report_thread(services: Services, event: dict[str, Any], text: str,
                             bot_user_id: str | None) -> tuple[bool, Effect | None]:
    """Queue the answer to a question in one of our report threads. (False, None) when the thread
    is not one."""
    thread_ts, channel = event.get("thread_ts"), event.get("channel")
    if not thread_ts or not channel or thread_ts == event.get("ts"):
        return False, None
    run = services.store.runs.run_for_thread(channel=channel, thread_ts=thread_ts)
    if run is None:
        return False, None
    if _NOT_A_QUESTION.match(text):
        return True, None
    key = f"answer:{channel}:{event.get('ts', '')}"
    try:
        queued = queue_answer(services, run=run, channel=channel, thread_ts=thread_ts, question=text,
                              question_ts=str(event.get("ts", "")), bot_user_id=bot_user_id, key=key)
    except QueueFull as err:
        return True, (reply_in_thread(event, f":warning: {err}") if claim_reply(services, key) else None)
    if not queued:
        log.info("already answered %s/%s", channel, event.get("ts"))
    return True, None


# --- listeners (after the ack) --------------------------------------------------------------------


def carry_out(client: WebClient, context: BoltContext) -> None:
    effect = context.get(EFFECT)
    if effect is not None:
        effect(client)


# Both run off Bolt's listener threads (`handlers.registry.off_the_listener_thread`): an effect
# calls Slack, and a status reply waits (boundedly) for the Ollama check.
def make_app_mention(services: Services) -> Callable[..., None]:
    def app_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        carry_out(client, context)

    return app_mention


def make_message(services: Services) -> Callable[..., None]:
    def message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        carry_out(client, context)

    return message
