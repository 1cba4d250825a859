"""Progress pacing for Slack edits (Slack allows about one edit per second per message)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Throttle:
    """Allows an action at most once per ``interval_s`` (by the injected clock); thread-safe."""

    def __init__(self, *, interval_s: float, clock: Callable[[], float]) -> None:
        self._interval = interval_s
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def ready(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self._interval:
                return False
            self._last = now
            return True
