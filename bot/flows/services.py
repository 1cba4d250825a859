"""What the Slack listeners hand to the flows, built once at start-up by `bot.app.build_services`."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.flows.pipeline import RunsAnalyses
from bot.flows.ports import ChatModel, DigestScheduling, RunStore, SlackPoster
from bot.flows.tasks import TaskRunner
from bot.settings import Settings


class SeenEvents:
    """Remembers recently handled event ids so a Slack retry never causes a second post.

    Bounded (oldest forgotten first) and expiring: Slack retries within minutes, so an hour is ample.
    """

    def __init__(self, *, capacity: int = 10_000, ttl_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """True the first time ``event_id`` is offered (and records it); False for repeats."""
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at <= self._ttl and len(self._seen) < self._capacity:
                    break
                self._seen.pop(oldest)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            return True

    def forget(self, event_id: str) -> None:
        """The event was not handled after all (the database was down): a redelivery is new."""
        with self._lock:
            self._seen.pop(event_id, None)


@dataclass
class Services:
    settings: Settings
    pipeline: RunsAnalyses
    chat: ChatModel  # thread answers
    health: Callable[[], str]  # one line on Ollama's state for `/chimera status`; must be quick
    store: RunStore
    # The durable work queue's workers on this replica: analyses, thread answers (they wait on the
    # model for up to OLLAMA_TIMEOUT_S, never on Bolt's few listener threads) and digests.
    runner: TaskRunner
    poster: SlackPoster  # Slack for the work the runner does (no request's client at hand there)
    clock: Callable[[], float] = time.monotonic
    seen_events: SeenEvents = field(default_factory=SeenEvents)
    progress_interval_s: float = 1.0  # at most one progress edit per this many seconds
    scheduler: DigestScheduling | None = None
