"""The flows' clock-driven helpers, on an injected clock: `bot.flows.progress.Throttle` (at most one
progress edit per interval) and `bot.flows.services.SeenEvents` (retried deliveries dropped)."""

from __future__ import annotations

from bot.flows.progress import Throttle
from bot.flows.services import SeenEvents
from tests.clocks import StepClock


def test_throttle_and_seen_events():
    throttle = Throttle(interval_s=1.0, clock=StepClock(0.5))
    assert [throttle.ready() for _ in range(6)] == [True, False, True, False, True, False]
    seen = SeenEvents(capacity=2, ttl_s=100, clock=StepClock(1.0))
    assert seen.first_time("a") and not seen.first_time("a")
    assert seen.first_time("b") and seen.first_time("c")
    assert seen.first_time("a")  # forgotten: capacity 2
    seen.forget("a")  # not handled after all (the database was down): a redelivery is new
    assert seen.first_time("a")
