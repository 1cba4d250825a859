"""Every Slack listener, wired in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.errors import ChimeraError
from bot.flows.services import Services
from handlers.commands import make_chimera_command
from handlers.events import make_app_mention, make_message

log = logging.getLogger(__name__)


def make_event_dedupe(services: Services) -> Callable[..., Any]:
    """Global middleware: an Events API delivery whose event_id we already handled is acked and
    dropped. Covers HTTP retries (X-Slack-Retry-Num) and Socket Mode redeliveries alike, and a
    retry of an event we never saw (say, after a restart) is still handled once.

    This check is in memory (cheap, every event). Listeners that post (thread answers, analyses
    by mention) also claim their message in the database (`store.events.mark_event_seen`), which holds
    across restarts and replicas; see `handlers.events`."""

    def dedupe_events(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not services.seen_events.first_time(str(event_id)):
            log.info("dropping repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return dedupe_events


EventListener = Callable[[dict[str, Any], WebClient, BoltContext], None]


def off_the_listener_thread(services: Services, name: str, listener: EventListener) -> Callable[..., None]:
    """An event listener whose work runs in `Services.side`, not on Bolt's listener threads.

    Bolt acknowledges an event before its listener runs, so nothing waits on the result; the work
    (database look-ups, Slack posts, the status check) may take as long as the outside world makes
    it without holding a listener thread. A full pool drops the event with a log line."""

    def run_elsewhere(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if services.side is None:
            listener(event, client, context)
            return
        try:
            services.side.submit(name, partial(listener, event, client, context), on_cancel=lambda _m: None)
        except ChimeraError as err:  # QueueFull / PoolClosed
            log.warning("dropping a %s event from %s: %s", name, event.get("user"), err)

    return run_elsewhere


def register(app: App, services: Services) -> None:
    app.middleware(make_event_dedupe(services))
    app.command("/chimera")(make_chimera_command(services))
    app.event("app_mention")(off_the_listener_thread(services, "app_mention", make_app_mention(services)))
    app.event("message")(off_the_listener_thread(services, "message", make_message(services)))
