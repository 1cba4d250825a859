"""The analysis job pool (`bot.flows.jobs.JobPool`): queue positions, capacity, shutdown, crashes."""

from __future__ import annotations

import threading

import pytest

from bot.errors import PoolClosed, QueueFull
from bot.flows.jobs import JobPool


def test_pool_positions_capacity_and_shutdown():
    gate = threading.Event()
    ran: list[str] = []
    cancelled: list[str] = []
    pool = JobPool(workers=1, max_queue=2)
    started = threading.Event()

    def job(name):
        def run():
            started.set()
            gate.wait(5)
            ran.append(name)
        return run

    def cancel(message: str) -> None:
        cancelled.append(message)
        if len(cancelled) == 2:  # shutdown has failed the queue: only now may the running job end
            gate.set()

    assert pool.submit("a", job("a"), on_cancel=cancel) == 0
    assert started.wait(5)
    assert pool.submit("b", job("b"), on_cancel=cancel) == 1
    assert pool.submit("c", job("c"), on_cancel=cancel) == 2
    with pytest.raises(QueueFull):
        pool.submit("d", job("d"), on_cancel=cancel)
    status = pool.status()
    assert (status.running, status.queued) == (1, 2)
    pool.shutdown(timeout_s=5)  # "a" is still running here: it is released from inside the shutdown
    assert ran == ["a"] and len(cancelled) == 2  # b and c cancelled; a finished in the grace period
    with pytest.raises(PoolClosed):
        pool.submit("e", job("e"), on_cancel=cancel)


def test_pool_survives_a_crashing_job():
    pool = JobPool(workers=1, max_queue=1)
    done = threading.Event()
    pool.submit("boom", lambda: 1 / 0, on_cancel=lambda _m: None)
    pool.submit("ok", done.set, on_cancel=lambda _m: None)
    assert done.wait(5)
    pool.shutdown(timeout_s=1)
