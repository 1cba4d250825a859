"""The `Store`: every read and write the bot makes to its database, one short transaction each.

Thread-safe: each call opens its own session from a sessionmaker and returns frozen records
(`bot.core.records`), never live ORM rows. Safe across processes sharing one database: every
"only once" guarantee (run keys, event ids, digest claims) is a unique key enforced by the
database, never a read-then-write check in Python.

It stores and loads; it knows nothing of Slack or of how runs are analysed.
"""

from __future__ import annotations

import contextlib
import logging
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.db.database import Database
from bot.adapters.db.digests import DigestRepository
from bot.adapters.db.engine import is_memory_sqlite, make_engine, upgrade_to_head
from bot.adapters.db.events import EventRepository
from bot.adapters.db.replicas import ReplicaRepository
from bot.adapters.db.runs import RunRepository
from bot.adapters.db.subscriptions import SubscriptionRepository
from bot.adapters.db.tasks import TaskRepository
from bot.errors import StoreError

log = logging.getLogger(__name__)


def open_store(database_url: str, *, busy_timeout_s: float = 10.0, connect_timeout_s: float = 5.0,
               max_measurements: int | None = None) -> Store:
    """Connect to `database_url`, migrate it to the current schema, and return the store.

    A fresh database gets every table; an older one is upgraded; a current one is left alone.
    Raises `StoreError` when the database cannot be reached or migrated, `DatabaseConfigError`
    when the URL cannot work (see `bot.adapters.db.engine.make_engine`).
    """
    engine = make_engine(database_url, busy_timeout_s=busy_timeout_s, connect_timeout_s=connect_timeout_s)
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as err:
        engine.dispose()
        log.error("migrating %s failed", engine.url.render_as_string(), exc_info=True)
        raise StoreError("The bot's database could not be opened or migrated.") from err
    return Store(engine, serialize=is_memory_sqlite(database_url), max_measurements=max_measurements)


class Store:
    """The bot's database by aggregate: ``runs``, ``events``, ``subscriptions``, ``digests``,
    ``tasks`` (the durable work queue) and ``replicas`` (heartbeats).

    Use `open_store` to get one. Close it (or use ``with``) to release the connections. A run keeps
    at most ``max_measurements`` measurement rows (MAX_JOB_MEASUREMENTS; None: no bound).
    """

    def __init__(self, engine: Engine, *, serialize: bool = False, max_measurements: int | None = None) -> None:
        self._db = Database(engine, serialize=serialize)
        self.runs = RunRepository(self._db, max_measurements=max_measurements)
        self.events = EventRepository(self._db)
        self.subscriptions = SubscriptionRepository(self._db)
        self.digests = DigestRepository(self._db)
        self.tasks = TaskRepository(self._db)
        self.replicas = ReplicaRepository(self._db)

    def waiting_at_most(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        """Writes in the block wait at most ``seconds`` for the write lock, then raise `StoreError`
        (a listener must answer Slack in time, whoever holds the lock)."""
        return self._db.waiting_at_most(seconds)

    def ping(self) -> dict[str, Any]:
        """{'reachable': bool, 'pool_in_use', 'pool_capacity'[, 'error']} (see `Database.ping`)."""
        return self._db.ping()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
