"""A bounded in-memory worker pool, with queue positions and a clean shutdown; and Bolt's counted
listener executor.

`JobPool` runs quick listener work that need not outlive this process (`Services.side`: carrying
out an event's replies, the status reply with its Ollama check). Work that must survive a dead
replica — analyses, comparisons, thread answers, digests — is a task of the durable queue
(`bot.flows.tasks`) instead.

`submit` never blocks: it either queues the job and says where it stands (0 = starting now,
n = n-th in line) or raises `QueueFull`. `shutdown` stops intake, fails queued jobs (telling
their users through each job's ``on_cancel``), waits for running jobs up to a deadline and tells
the users of those still running that they were cut off.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.errors import PoolClosed, QueueFull

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: int
    label: str
    run: Callable[[], None]
    on_cancel: Callable[[str], None]


@dataclass(frozen=True)
class PoolStatus:
    workers: int
    running: int
    queued: int
    max_queue: int
    running_labels: tuple[str, ...]

    @property
    def saturated(self) -> bool:
        """Every worker busy and the queue full: the next submit is refused."""
        return self.running >= self.workers and self.queued >= self.max_queue


class JobPool:
    def __init__(self, *, workers: int, max_queue: int, name: str = "chimera-job") -> None:
        if workers < 1 or max_queue < 0:
            raise ValueError("workers must be >= 1 and max_queue >= 0")
        self._workers = workers
        self._max_queue = max_queue
        self._queue: deque[Job] = deque()
        self._running: dict[int, Job] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._ids = itertools.count(1)
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, label: str, run: Callable[[], None], *, on_cancel: Callable[[str], None]) -> int:
        """Queue ``run``; returns its position (0 = a worker is free and starts it now)."""
        with self._cond:
            if self._closed:
                raise PoolClosed("The bot is restarting; please run the command again in a minute.")
            free = self._workers - len(self._running)
            if len(self._queue) >= free + self._max_queue:
                raise QueueFull(
                    f"{len(self._queue) + len(self._running)} analyses are already waiting or running. "
                    "Please try again in a few minutes."
                )
            position = max(0, len(self._queue) - free + 1)
            self._queue.append(Job(next(self._ids), label, run, on_cancel))
            self._cond.notify()
            return position

    def status(self) -> PoolStatus:
        with self._cond:
            return PoolStatus(
                workers=self._workers,
                running=len(self._running),
                queued=len(self._queue),
                max_queue=self._max_queue,
                running_labels=tuple(j.label for j in self._running.values()),
            )

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:  # closed and drained
                    return
                job = self._queue.popleft()
                self._running[job.id] = job
            try:
                job.run()
            except Exception:  # a job must never kill its worker; the job reports its own errors
                log.exception("job %s (%s) crashed", job.id, job.label)
            finally:
                with self._cond:
                    self._running.pop(job.id, None)
                    self._cond.notify_all()

    def shutdown(self, *, timeout_s: float = 30.0) -> None:
        """Stop intake; fail queued jobs; wait up to ``timeout_s`` for running ones, then fail those."""
        with self._cond:
            self._closed = True
            queued = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for job in queued:
            _cancel(job, "The bot is restarting, so your queued analysis was cancelled. "
                         "Please run the command again in a minute.")
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._running and time.monotonic() < deadline:
                self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
            unfinished = list(self._running.values())
        for job in unfinished:
            _cancel(job, "The bot was restarted while your analysis was running, so it did not finish. "
                         "Please run the command again.")
        for thread in self._threads:
            thread.join(timeout=0.1)


def _cancel(job: Job, message: str) -> None:
    try:
        job.on_cancel(message)
    except Exception:
        log.exception("could not tell the user that job %s (%s) was cancelled", job.id, job.label)


class TrackedExecutor(ThreadPoolExecutor):
    """A thread pool that knows how many of its threads are busy (Bolt's listener executor), so
    readiness can say when every listener thread is taken."""

    def __init__(self, *, workers: int, name: str = "chimera-listener") -> None:
        super().__init__(max_workers=workers, thread_name_prefix=name)
        self.workers = workers
        self._busy = 0
        self._busy_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def tracked() -> Any:
            with self._busy_lock:
                self._busy += 1
            try:
                return fn(*args, **kwargs)
            finally:
                with self._busy_lock:
                    self._busy -= 1

        return super().submit(tracked)

    @property
    def busy(self) -> int:
        with self._busy_lock:
            return self._busy

    @property
    def saturated(self) -> bool:
        return self.busy >= self.workers
