"""Every Slack listener, wired in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.errors import ChimeraError, StoreError
from bot.flows.intake import database_trouble
from bot.flows.retry import with_retries
from bot.flows.services import Services
from handlers.commands import make_chimera_command
from handlers.events import EFFECT, intake, make_app_mention, make_message, reply_in_thread

log = logging.getLogger(__name__)

# Slack redelivers an event it got no 200 for: after ~0 s, ~1 min and ~5 min (retry 1, 2, 3).
LAST_SLACK_RETRY = 3


def _retry_num(request: BoltRequest) -> int:
    values = request.headers.get("x-slack-retry-num") or ["0"]
    try:
        return int(values[0])
    except (TypeError, ValueError):
        return 0


def make_event_intake(services: Services) -> Callable[..., Any]:
    """Global middleware for Events API deliveries, run before Bolt acknowledges them.

    1. A delivery whose event_id this replica already handled is acked and dropped (in memory,
       cheap: HTTP retries and Socket Mode redeliveries alike).
    2. `handlers.events.intake` makes the event's work durable in the database (claims, tasks);
       the listener carries out what is left after the ack. Exactly once across replicas and
       restarts comes from the database keys, not from this memory.
    3. The database is unreachable (retried for ``INTAKE_RETRY_S``): answer Slack 503, so it
       delivers the event again later — never ack and drop. On Slack's last attempt, a user who
       addressed the bot (a mention, a DM) is told instead.
    """

    def event_intake(body: dict[str, Any], context: BoltContext, request: BoltRequest,
                     next: Callable[[], Any]) -> Any:
        if body.get("type") != "event_callback":
            return next()
        event_id = str(body.get("event_id") or "")
        if event_id and not services.seen_events.first_time(event_id):
            log.info("dropping repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        event = body.get("event") or {}
        try:
            context[EFFECT] = with_retries(lambda: intake(services, event, bot_user_id=context.bot_user_id),
                                           budget_s=services.settings.intake_retry_s, store=services.store)
        except StoreError as err:
            if event_id:
                services.seen_events.forget(event_id)  # Slack's redelivery is not a repeat
            retry = _retry_num(request)
            if retry < LAST_SLACK_RETRY:
                log.warning("event %s not taken: the database is unreachable; Slack will redeliver it (retry %d)",
                            event_id, retry)
                return BoltResponse(status=503, body="database unavailable, please retry")
            log.error("event %s dropped: the database was unreachable through Slack's last retry", event_id)
            addressed = event.get("type") == "app_mention" or event.get("channel_type") == "im"
            if addressed and event.get("user") and not event.get("bot_id"):
                context[EFFECT] = reply_in_thread(event, database_trouble(err))
        return next()

    return event_intake


EventListener = Callable[[dict[str, Any], WebClient, BoltContext], None]


def off_the_listener_thread(services: Services, name: str, listener: EventListener) -> Callable[..., None]:
    """An event listener whose work runs in `Services.side`, not on Bolt's listener threads.

    Bolt acknowledges an event before its listener runs, so nothing waits on the result; the work
    (database look-ups, Slack posts, the status check) may take as long as the outside world makes
    it without holding a listener thread. When the pool is full (or closing) the listener runs here
    instead: the event is already acknowledged and its reply key recorded (intake), so a dropped
    reply would never come — Slack's redelivery is seen as handled. Every outside call a listener
    makes has its own deadline (the Ollama check: `HealthProbe`), so this thread is held boundedly."""

    def run_elsewhere(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if services.side is None:
            listener(event, client, context)
            return
        try:
            services.side.submit(name, partial(listener, event, client, context), on_cancel=lambda _m: None)
        except ChimeraError as err:  # QueueFull / PoolClosed
            log.warning("side pool cannot take a %s event from %s (%s): handled on the listener thread",
                        name, event.get("user"), err)
            listener(event, client, context)

    return run_elsewhere


def register(app: App, services: Services) -> None:
    app.middleware(make_event_intake(services))
    app.command("/chimera")(make_chimera_command(services))
    app.event("app_mention")(off_the_listener_thread(services, "app_mention", make_app_mention(services)))
    app.event("message")(off_the_listener_thread(services, "message", make_message(services)))
