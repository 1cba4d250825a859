"""Injected clocks: code that takes a ``clock`` (`bot.flows.progress.Throttle`, `Services.clock`,
`bot.adapters.ollama.stream_chat`) is tested on one of these, so no test reads the wall clock."""

from __future__ import annotations

import threading


class StepClock:
    """A clock that advances ``step`` seconds per reading: time passes exactly as fast as the code
    looks at it, so throttles and deadlines behave the same on any machine."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.step
            return self.now


class ManualClock:
    """A clock that stands still until the test moves it: what the code under test measures is
    exactly how far the test moved it in between."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
