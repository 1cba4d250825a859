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

from bot.adapters.db.database import Database, is_lock_timeout
from bot.adapters.db.digests import DigestRepository
from bot.adapters.db.engine import is_memory_sqlite, make_engine, upgrade_to_head
from bot.adapters.db.events import EventRepository
from bot.adapters.db.replicas import ReplicaRepository
from bot.adapters.db.runs import RunRepository
from bot.adapters.db.subscriptions import SubscriptionRepository
from bot.adapters.db.tasks import TaskRepository
from bot.core.redact import redact_secrets
from bot.errors import DatabaseBusy, StoreError

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
        reason = driver_reason(err)
        # one line, no traceback: the URL without its password, the driver's own first line
        log.error("opening %s failed: %s", engine.url.render_as_string(), reason)
        kind = DatabaseBusy if is_lock_timeout(err) else StoreError  # busy: it works a moment later
        raise kind(f"The bot's database could not be opened or migrated: {reason}") from err
    return Store(engine, serialize=is_memory_sqlite(database_url), max_measurements=max_measurements)


def driver_reason(err: SQLAlchemyError) -> str:
    """The database driver's own reason, first line, secrets redacted ("connection refused", …)."""
    cause = getattr(err, "orig", None) or err
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return redact_secrets(lines[0] if lines else type(cause).__name__)[:300]


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

    def read_only_reason(self) -> str | None:
        """Why this database cannot be written (a read-only file, a read-only PostgreSQL role or
        server), or None when a write works (a write lock another process holds is not read-only)."""
        return self._db.read_only_reason()

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
