"""What the Slack listeners hand to the flows, built once at start-up by `bot.app.build_services`."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.flows.announce import QueuePositions
from bot.flows.health import HealthProbe
from bot.flows.jobs import JobPool, TrackedExecutor
from bot.flows.pipeline import RunsAnalyses
from bot.flows.ports import ChatModel, DigestScheduling, RunStore, SlackPoster
from bot.flows.tasks import TaskRunner
from bot.settings import Settings

# Thread answers waiting for a worker (across replicas); beyond this the asker is told to retry.
ANSWER_MAX_QUEUE = 20


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
    sleep: Callable[[float], None] = time.sleep  # waits between retries of a final Slack edit
    seen_events: SeenEvents = field(default_factory=SeenEvents)
    progress_interval_s: float = 1.0  # at most one progress edit per this many seconds
    scheduler: DigestScheduling | None = None
    # Listener work that calls the outside world (carrying out an event's replies, the status
    # reply with its Ollama check) runs here, off Bolt's listener threads; None runs it in the
    # listener (unit tests). Quick work that need not outlive the replica: a plain in-memory pool.
    side: JobPool | None = None
    # `health` behind a deadline, one check in flight at a time (see bot.flows.health).
    probe: HealthProbe | None = None
    # Bolt's listener threads, counted so /health can say when all are busy.
    listeners: TrackedExecutor | None = None
    # Keeps the queue position in the parent messages posted at the ack current (bot.flows.announce).
    positions: QueuePositions | None = None

    def saturated(self) -> list[str]:
        """The pools that cannot take more work right now (readiness in /health): the task
        runner's analyses ("jobs") and thread answers ("answers") when every local worker is busy
        and the queue is full (as last seen), the side pool, Bolt's listener threads."""
        full = []
        if self.runner.saturated("analysis", max_queue=self.settings.max_queue):
            full.append("jobs")
        if self.runner.saturated("answer", max_queue=ANSWER_MAX_QUEUE):
            full.append("answers")
        if self.side is not None and self.side.status().saturated:
            full.append("side")
        if self.listeners is not None and self.listeners.saturated:
            full.append("listeners")
        return full
