"""Database writes retried with backoff while the database is busy or briefly unreachable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from bot.errors import RecordConflict, StoreError, UnknownRecord
from bot.flows.ports import RunStore

log = logging.getLogger(__name__)

T = TypeVar("T")


def with_retries(call: Callable[[], T], *, budget_s: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, store: RunStore | None = None) -> T:
    """``call()``, retried with backoff (0.1 s, doubling, at most 1 s) while the database is
    unreachable or busy and ``budget_s`` lasts; then the last `StoreError` is raised. Answers from
    a working database (a conflict, an unknown record) are not retried.

    With ``store``, an attempt's writes wait for the database's write lock (another process
    holding it) only for what is left of the budget, never DATABASE_BUSY_TIMEOUT_S: a listener
    answers within Slack's 3 s however long the lock is held."""
    deadline = clock() + budget_s
    delay = 0.1
    while True:
        try:
            if store is None:
                return call()
            with store.waiting_at_most(max(0.5, deadline - clock())):
                return call()
        except (RecordConflict, UnknownRecord):
            raise
        except StoreError:
            left = deadline - clock()
            if left <= 0:
                raise
            log.info("database unavailable; retrying in %.1f s", min(delay, left))
            sleep(min(delay, left))
            delay = min(delay * 2, 1.0)
