"""What Slack listeners need, built once at start-up and passed to `handlers.registry.register`."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.flows.jobs import JobPool
from bot.settings import Settings
from bot.adapters.db import Store, open_store

if TYPE_CHECKING:
    from bot.adapters.scheduler import DigestScheduler

log = logging.getLogger(__name__)

# Follow-up answers waiting for a worker; beyond this the asker is told to try again shortly.
ANSWER_MAX_QUEUE = 20


class RunAnalysis(Protocol):
    """`bot.flows.pipeline.run_analysis` (see its docstring for the contract)."""

    def __call__(
        self,
        target: str,
        *,
        settings: Settings,
        use_llm: bool = True,
        allow_local_paths: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> Any: ...


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


@dataclass
class Services:
    settings: Settings
    jobs: JobPool
    run_analysis: RunAnalysis
    health: Callable[[], str]  # one line on Ollama's state for `/chimera status`; must be quick
    clock: Callable[[], float] = time.monotonic
    seen_events: SeenEvents = field(default_factory=SeenEvents)
    progress_interval_s: float = 1.0  # at most one progress edit per this many seconds
    store: Store | None = None
    scheduler: DigestScheduler | None = None  # set by `bot.adapters.scheduler.start_scheduler`
    # Thread answers wait on the model for up to OLLAMA_TIMEOUT_S: they run here, never on Bolt's
    # few listener threads, which must stay free to ack commands within Slack's 3 s.
    answers: JobPool | None = None


def ollama_health(settings: Settings) -> str:
    """`bot.adapters.doctor.run_doctor` (reachable? model pulled? context fits?) as status lines."""
    from bot.adapters.doctor import (
        run_doctor,  # late: only `/chimera status` needs the Ollama client
    )
    from bot.adapters.slack import escape_mrkdwn

    lines = []
    for check in run_doctor(settings):
        line = f"{':white_check_mark:' if check.ok else ':x:'} {escape_mrkdwn(check.detail)}"
        if check.fix and not check.ok:
            line += f" — {escape_mrkdwn(check.fix)}"
        lines.append(line)
    return "\n• ".join(lines)


def build_services(
    settings: Settings,
    *,
    run_analysis: RunAnalysis | None = None,
    health: Callable[[], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Services:
    """Wire the defaults: the real pipeline, a pool sized by settings, the Ollama check."""
    if run_analysis is None:
        from bot.flows.pipeline import (
            run_analysis as pipeline_run,  # late: keeps start-up import light
        )

        run_analysis = pipeline_run
    return Services(
        settings=settings,
        jobs=JobPool(workers=settings.workers, max_queue=settings.max_queue),
        run_analysis=run_analysis,
        health=health or (lambda: ollama_health(settings)),
        clock=clock,
        store=open_store(settings.database_url),
        answers=JobPool(workers=settings.workers, max_queue=ANSWER_MAX_QUEUE, name="chimera-answer"),
    )
