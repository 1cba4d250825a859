"""The database connection the repositories share: one short transaction per call.

Thread-safe: each transaction opens its own session; records handed out are frozen copies
(`bot.core.records`), never live ORM rows. Every "only once" guarantee (run keys, event ids,
digest claims) is a unique key enforced by the database, never a read-then-write in Python.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from bot.adapters.db.engine import BUSY_MS, IMMEDIATE
from bot.errors import DatabaseBusy, RecordConflict, StoreError

log = logging.getLogger(__name__)

_READ_ONLY_WORDS = ("readonly", "read-only", "read only", "permission denied")

BUSY = "The bot's database is busy or unavailable; try again shortly."
# SQLite's busy timeout ran out; PostgreSQL's lock_timeout (SQLSTATE 55P03, lock_not_available).
_LOCKED_WORDS = ("database is locked", "database table is locked", "lock timeout")


def is_lock_timeout(err: BaseException) -> bool:
    """Did ``err`` come from waiting too long for another writer's lock (not from an unreachable
    or broken database)?"""
    cause = getattr(err, "orig", None) or err
    if getattr(cause, "sqlstate", None) == "55P03":
        return True
    first = str(cause).splitlines()[0].lower() if str(cause) else ""
    return any(word in first for word in _LOCKED_WORDS)

# How long a write may wait for the write lock in this context (`Database.waiting_at_most`); None:
# DATABASE_BUSY_TIMEOUT_S. A listener must answer Slack within 3 s whoever holds the lock.
_LOCK_WAIT_S: ContextVar[float | None] = ContextVar("chimera_lock_wait_s", default=None)


class Database:
    def __init__(self, engine: Engine, *, serialize: bool = False) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        # Writes take SQLite's write lock when they begin (see bot.adapters.db.engine).
        self._write = sessionmaker(
            engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False
        )
        # An in-memory database is one shared connection: calls must not interleave on it.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if serialize else contextlib.nullcontext()
        )
        # SQLite has one writer at a time. Threads of this process queue for it here, where a
        # finished writer wakes the next at once, instead of in SQLite's busy handler, which polls
        # with sleeps of up to 100 ms (20 acks in flight cost ~130 ms each that way, ~10 ms this way).
        # Other processes still meet in SQLite's lock.
        self._writers: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if engine.dialect.name == "sqlite" and not serialize else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[None]:
        """Writes in this block wait at most ``seconds`` for the write lock (this process's writers
        and SQLite's), then fail with `StoreError` instead of waiting DATABASE_BUSY_TIMEOUT_S; on
        PostgreSQL every statement waits at most that long for a lock (``lock_timeout``)."""
        token = _LOCK_WAIT_S.set(max(0.0, seconds))
        try:
            yield
        finally:
            _LOCK_WAIT_S.reset(token)

    @contextlib.contextmanager
    def tx(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction; database errors leave here as `StoreError` (details logged)."""
        maker = self._write if write else self._read
        wait_s = _LOCK_WAIT_S.get()
        dialect = self.engine.dialect.name
        try:
            with self._writer(wait_s) if write else contextlib.nullcontext(wait_s) as left, self._lock, \
                    maker.begin() as session:
                if left is not None and dialect == "sqlite" and write:
                    session.connection(execution_options={BUSY_MS: int(left * 1000)})
                elif left is not None and dialect == "postgresql":  # a lock on a row or table, for this tx
                    session.execute(text(f"SET LOCAL lock_timeout = {max(1, int(left * 1000))}"))
                yield session
        except IntegrityError as err:
            raise RecordConflict("That record already exists.") from err
        except SQLAlchemyError as err:
            log.warning("database operation failed", exc_info=True)
            raise (DatabaseBusy(BUSY) if is_lock_timeout(err) else StoreError(BUSY)) from err

    @contextlib.contextmanager
    def _writer(self, wait_s: float | None) -> Iterator[float | None]:
        """This process's turn to write (SQLite), waiting at most ``wait_s`` for it when given;
        yields what is left of ``wait_s`` for SQLite's own lock (None: no bound)."""
        if isinstance(self._writers, contextlib.nullcontext):
            yield wait_s
            return
        lock: Any = self._writers
        started = time.monotonic()
        if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
            log.warning("database write lock not free within %.1f s", time.monotonic() - started)
            raise DatabaseBusy(BUSY)
        try:
            yield None if wait_s is None else max(0.0, wait_s - (time.monotonic() - started))
        finally:
            lock.release()

    def read_only_reason(self) -> str | None:
        """A write that changes nothing (rolled back): None when it works, else why the database
        refuses writes. A busy database (another writer holds the lock) is not read-only."""
        try:
            with self._writer(None), self._lock, \
                    self.engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin() as tx:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                tx.rollback()
        except SQLAlchemyError as err:
            cause = str(getattr(err, "orig", None) or err).splitlines()[0] if str(err) else type(err).__name__
            if any(word in cause.lower() for word in _READ_ONLY_WORDS):
                return cause[:200]
            log.warning("the start-up write check could not run: %s", cause[:200])
        return None

    def ping(self) -> dict[str, Any]:
        """Is the database answering, and how busy is our connection pool? (for readiness)"""
        pool = self.engine.pool
        status: dict[str, Any] = {"reachable": False}
        size = getattr(pool, "size", None)
        if callable(size) and callable(getattr(pool, "checkedout", None)):
            capacity = size() + max(0, int(getattr(pool, "_max_overflow", 0)))
            status.update(pool_in_use=pool.checkedout(), pool_capacity=capacity)  # type: ignore[attr-defined]
        try:
            with self._lock, self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            status["reachable"] = True
        except SQLAlchemyError as err:
            status["error"] = type(err.orig if hasattr(err, "orig") and err.orig else err).__name__
        return status

    def close(self) -> None:
        self.engine.dispose()


def insert_if_absent(session: Session, table: Table, values: dict[str, Any], *, key: list[str],
                     returning: ColumnElement[Any]) -> Row[Any] | None:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING …``: the row when this call inserted it,
    None when any writer (this process or another) already had that key.

    Losing the race is an ordinary answer, not an error: nothing is raised and nothing lands in
    the PostgreSQL log (a plain INSERT that hits the unique key would log an ERROR each time).
    RETURNING, not rowcount: psycopg reports -1 for an INSERT's rowcount."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=key).returning(returning)
    return session.execute(stmt).first()


def upsert(session: Session, table: Table, values: dict[str, Any], *, key: list[str],
           update: dict[str, Any]) -> None:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET …`` on either backend."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).values(**values).on_conflict_do_update(index_elements=key, set_=update))


def require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("pass a timezone-aware datetime (UTC), not a naive one")
