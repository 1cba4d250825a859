"""The Ollama check behind `/chimera status`, with a total deadline and never more than one in flight.

`Services.health` (the doctor's checks as one line) can take as long as Ollama makes it: a stalled
server holds each HTTP call up to its timeout. `HealthProbe` runs that check on a thread of its own,
one at a time (single flight): every status request waits for the check in flight, or the last
result while it is fresh, until its own deadline, then says the check did not answer in time. So
five status requests against a stalled Ollama cost one stalled call, and no caller waits longer
than its deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class HealthProbe:
    def __init__(self, check: Callable[[], str], *, wait_s: float = 5.0, fresh_s: float = 10.0,
                 stall_s: float = 15.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.wait_s = wait_s  # how long one status request waits for the check, at most
        self._check = check
        self._fresh_s = fresh_s
        self._stall_s = stall_s
        self._clock = clock
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started_at: float | None = None  # of the check in flight
        self._result: str | None = None
        self._result_at = 0.0

    def line(self, *, deadline: float) -> str:
        """The check's one line, waiting at most until ``deadline`` (on this probe's clock)."""
        with self._lock:
            now = self._clock()
            if self._result is not None and now - self._result_at <= self._fresh_s:
                return self._result
            if self._started_at is None:
                self._start(now)
            done = self._done
        if done.wait(max(0.0, deadline - self._clock())):
            with self._lock:
                if self._result is not None:
                    return self._result
        return ("Ollama: no answer in time — it may be stalled or overloaded (the check goes on in the "
                "background; ask again in a minute)")

    def deadline(self) -> float:
        """The deadline of a status request made now."""
        return self._clock() + self.wait_s

    @property
    def stalled(self) -> bool:
        """A check has been in flight for longer than ``stall_s``."""
        with self._lock:
            return self._started_at is not None and self._clock() - self._started_at > self._stall_s

    def _start(self, now: float) -> None:
        self._started_at = now
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(self._done,), name="chimera-health", daemon=True).start()

    def _run(self, done: threading.Event) -> None:
        try:
            result = self._check()
        except Exception:  # the check converts outside errors itself; this is a bug, not Ollama
            log.exception("the Ollama check failed")
            result = "Ollama: the check failed (details are in the bot's log)"
        with self._lock:
            self._result, self._result_at, self._started_at = result, self._clock(), None
        done.set()
