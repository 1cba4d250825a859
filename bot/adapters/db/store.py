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
import threading
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.types import MEASUREMENT_COLUMNS
from bot.adapters.db.convert import (
    digest_record,
    get_or_raise,
    new_run_row,
    run_record,
    subscription_record,
)
from bot.adapters.db.engine import IMMEDIATE, is_memory_sqlite, make_engine, upgrade_to_head
from bot.adapters.db.frames import json_document, measurement_frame, measurement_rows
from bot.core.records import (
    FINISHED_DIGEST_STATUSES,
    FINISHED_RUN_STATUSES,
    Digest,
    Run,
    Subscription,
)
from bot.errors import RecordConflict, StoreError
from bot.adapters.db.schema import (
    AnsweredEventRow,
    DigestRow,
    MeasurementRow,
    RunRow,
    SubscriptionRow,
    utcnow,
)

log = logging.getLogger(__name__)

_MEASUREMENTS = MeasurementRow.metadata.tables[MeasurementRow.__tablename__]


def open_store(database_url: str, *, busy_timeout_s: float = 10.0) -> Store:
    """Connect to `database_url`, migrate it to the current schema, and return the store.

    A fresh database gets every table; an older one is upgraded; a current one is left alone.
    Raises `StoreError` when the database cannot be reached or migrated.
    """
    engine = make_engine(database_url, busy_timeout_s=busy_timeout_s)
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as err:
        engine.dispose()
        log.error("migrating %s failed", engine.url.render_as_string(), exc_info=True)
        raise StoreError("The bot's database could not be opened or migrated.") from err
    return Store(engine, serialize=is_memory_sqlite(database_url))


def digest_run_key(subscription_id: int, archive: str) -> str:
    return f"digest:{subscription_id}:{archive}"


class Store:
    """Use `open_store` to get one. Close it (or use ``with``) to release the connections."""

    def __init__(self, engine: Engine, *, serialize: bool = False) -> None:
        self._engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        # Writes take SQLite's write lock when they begin (see bot.adapters.db.engine).
        self._write = sessionmaker(
            engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False
        )
        # An in-memory database is one shared connection: calls must not interleave on it.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if serialize else contextlib.nullcontext()
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction; database errors leave here as `StoreError` (details logged)."""
        maker = self._write if write else self._read
        try:
            with self._lock, maker.begin() as session:
                yield session
        except IntegrityError as err:
            raise RecordConflict("That record already exists.") from err
        except SQLAlchemyError as err:
            log.warning("database operation failed", exc_info=True)
            raise StoreError(
                "The bot's database is busy or unavailable; try again shortly."
            ) from err

    # --- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        *,
        archive: str,
        trigger: str,
        channel: str | None = None,
        thread_ts: str | None = None,
        parent_ts: str | None = None,
        user: str | None = None,
    ) -> Run:
        """Record a new run (status 'queued') with no run key."""
        row = new_run_row(archive, trigger, channel, thread_ts, parent_ts, user, run_key=None)
        with self._tx(write=True) as session:
            session.add(row)
            session.flush()
            return run_record(row)

    def claim_run_key(
        self,
        key: str,
        *,
        archive: str,
        trigger: str,
        channel: str | None = None,
        thread_ts: str | None = None,
        parent_ts: str | None = None,
        user: str | None = None,
    ) -> Run | None:
        """Create the run named `key`, or return None when any process already created it."""
        if not key:
            raise ValueError("run key must not be empty")
        row = new_run_row(archive, trigger, channel, thread_ts, parent_ts, user, run_key=key)
        try:
            with self._tx(write=True) as session:
                session.add(row)
                session.flush()
                return run_record(row)
        except RecordConflict:
            return None

    def start_run(self, run_id: int) -> Run:
        """Mark a queued run as running."""
        with self._tx(write=True) as session:
            row = get_or_raise(session, RunRow, run_id)
            row.status = "running"
            return run_record(row)

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        error: str | None = None,
        facts: Any = None,
        timings: Any = None,
        summary: Any = None,
        report_md: str | None = None,
        measurements: pd.DataFrame | None = None,
    ) -> Run:
        """Close a run as 'done' or 'failed' with its results, in one transaction.

        `facts`, `timings` and `summary` are stored as JSON (non-finite floats become null).
        `measurements`, when given, replaces any stored for this run (its index is not kept).
        Raises ValueError for malformed input, `UnknownRecord` for an unknown run.
        """
        if status not in FINISHED_RUN_STATUSES:
            raise ValueError(f"a finished run's status is one of {FINISHED_RUN_STATUSES}")
        documents = [json_document(facts), json_document(timings), json_document(summary)]
        rows = None if measurements is None else measurement_rows(measurements, run_id=run_id)
        with self._tx(write=True) as session:
            row = get_or_raise(session, RunRow, run_id)
            row.status, row.error, row.report_md = status, error, report_md
            row.facts, row.timings, row.summary = documents
            row.finished_at = utcnow()
            if rows is not None:
                session.execute(delete(MeasurementRow).where(MeasurementRow.run_id == run_id))
                if rows:
                    # Core executemany: one prepared statement for all rows (fast on SQLite).
                    session.execute(insert(_MEASUREMENTS), rows)
            return run_record(row)

    def set_run_thread(self, run_id: int, *, channel: str, parent_ts: str) -> Run:
        """Remember the bot's parent message of the run's report thread."""
        with self._tx(write=True) as session:
            row = get_or_raise(session, RunRow, run_id)
            row.channel, row.parent_ts = channel, parent_ts
            return run_record(row)

    def get_run(self, run_id: int) -> Run | None:
        with self._tx() as session:
            row = session.get(RunRow, run_id)
            return None if row is None else run_record(row)

    def run_for_thread(self, *, channel: str, thread_ts: str) -> Run | None:
        """The newest run whose report thread is (`channel`, `thread_ts`), whatever its status."""
        with self._tx() as session:
            row = session.scalars(
                select(RunRow)
                .where(RunRow.channel == channel, RunRow.parent_ts == thread_ts)
                .order_by(RunRow.created_at.desc(), RunRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else run_record(row)

    def load_measurements(self, run_id: int) -> pd.DataFrame:
        """The run's tidy measurements, in stored order, shaped like `empty_measurements()`."""
        columns = [_MEASUREMENTS.c[name] for name in MEASUREMENT_COLUMNS]
        with self._tx() as session:
            result = session.execute(
                select(*columns)
                .where(_MEASUREMENTS.c.run_id == run_id)
                .order_by(_MEASUREMENTS.c.id)
            )
            return measurement_frame(tuple(row) for row in result)

    def fail_stale_runs(self, *, before: datetime, error: str) -> list[Run]:
        """Mark runs still queued/running that began before `before` as failed (and their claimed
        digests), e.g. at start-up after a crash. Returns them so the caller can report each."""
        _require_aware(before)
        with self._tx(write=True) as session:
            rows = session.scalars(
                select(RunRow)
                .where(RunRow.status.in_(("queued", "running")), RunRow.created_at < before)
                .order_by(RunRow.id)
            ).all()
            now = utcnow()
            for row in rows:
                row.status, row.error, row.finished_at = "failed", error, now
            if rows:
                session.execute(
                    update(DigestRow)
                    .where(
                        DigestRow.run_id.in_([row.id for row in rows]),
                        DigestRow.status == "claimed",
                    )
                    .values(status="failed", error=error, finished_at=now)
                )
            return [run_record(row) for row in rows]

    # --- exactly-once event handling ----------------------------------------------------------
    def mark_event_seen(self, event_id: str, *, run_id: int | None = None) -> bool:
        """True the first time `event_id` is seen by any process sharing the database."""
        if not event_id:
            raise ValueError("event id must not be empty")
        try:
            with self._tx(write=True) as session:
                session.add(AnsweredEventRow(event_id=event_id, run_id=run_id))
            return True
        except RecordConflict:
            return False

    def prune_events(self, *, before: datetime) -> int:
        """Forget event ids recorded before `before` (Slack retries only for minutes)."""
        _require_aware(before)
        with self._tx(write=True) as session:
            result = session.execute(
                delete(AnsweredEventRow).where(AnsweredEventRow.created_at < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # --- subscriptions ------------------------------------------------------------------------
    def add_subscription(
        self,
        *,
        channel: str,
        schedule: str,
        trigger: dict[str, Any],
        timezone: str,
        prefix: str,
        quiet_when_nothing_new: bool = False,
        created_by: str | None = None,
    ) -> Subscription:
        """Persist a subscription. `trigger` holds the parsed schedule (e.g. cron fields)."""
        for name, value in (("channel", channel), ("schedule", schedule), ("timezone", timezone)):
            if not value:
                raise ValueError(f"subscription {name} must not be empty")
        row = SubscriptionRow(
            channel=channel,
            schedule=schedule,
            trigger=json_document(dict(trigger)),
            timezone=timezone,
            prefix=prefix,
            quiet_when_nothing_new=bool(quiet_when_nothing_new),
            created_by=created_by,
            active=True,
        )
        with self._tx(write=True) as session:
            session.add(row)
            session.flush()
            return subscription_record(row)

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        """The subscription by id, active or removed (a fire must be able to tell which)."""
        with self._tx() as session:
            row = session.get(SubscriptionRow, subscription_id)
            return None if row is None else subscription_record(row)

    def list_subscriptions(self, channel: str | None = None) -> list[Subscription]:
        """Active subscriptions of `channel` (of every channel when None), oldest first."""
        query = select(SubscriptionRow).where(SubscriptionRow.active.is_(True))
        if channel is not None:
            query = query.where(SubscriptionRow.channel == channel)
        with self._tx() as session:
            return [
                subscription_record(r) for r in session.scalars(query.order_by(SubscriptionRow.id))
            ]

    def remove_subscription(self, subscription_id: int, *, channel: str) -> bool:
        """Deactivate it; False when no active subscription has that id *in that channel*
        (one channel cannot remove another's). Its digest history is kept."""
        with self._tx(write=True) as session:
            result = session.execute(
                update(SubscriptionRow)
                .where(
                    SubscriptionRow.id == subscription_id,
                    SubscriptionRow.channel == channel,
                    SubscriptionRow.active.is_(True),
                )
                .values(active=False)
            )
            return bool(getattr(result, "rowcount", 0))

    # --- digests ------------------------------------------------------------------------------
    def digested_archives(self, subscription_id: int) -> set[str]:
        """Archives already claimed for this subscription, whatever became of the digest."""
        with self._tx() as session:
            return set(
                session.scalars(
                    select(DigestRow.archive).where(DigestRow.subscription_id == subscription_id)
                )
            )

    def claim_digest(self, subscription_id: int, archive: str) -> Digest | None:
        """Claim `archive` for this subscription: creates its run (trigger 'schedule', key
        ``digest:<subscription>:<archive>``) and the digest, atomically. None when any process
        claimed it before. Raises `UnknownRecord` for an unknown subscription."""
        if not archive:
            raise ValueError("archive must not be empty")
        key = digest_run_key(subscription_id, archive)
        try:
            with self._tx(write=True) as session:
                subscription = get_or_raise(session, SubscriptionRow, subscription_id)
                run = new_run_row(archive, "schedule", subscription.channel, None, None, None, key)
                session.add(run)
                session.flush()
                digest = DigestRow(
                    subscription_id=subscription_id,
                    archive=archive,
                    run_id=run.id,
                    run_key=key,
                    status="claimed",
                )
                session.add(digest)
                session.flush()
                return digest_record(digest)
        except RecordConflict:
            return None

    def finish_digest(
        self,
        digest_id: int,
        *,
        status: str,
        posted_ts: str | None = None,
        error: str | None = None,
    ) -> Digest:
        """Close a digest as 'posted' (with the Slack ts of its message) or 'failed'."""
        if status not in FINISHED_DIGEST_STATUSES:
            raise ValueError(f"a finished digest's status is one of {FINISHED_DIGEST_STATUSES}")
        with self._tx(write=True) as session:
            row = get_or_raise(session, DigestRow, digest_id)
            row.status, row.posted_ts, row.error = status, posted_ts, error
            row.finished_at = utcnow()
            return digest_record(row)

    def digest_for_run(self, run_id: int) -> Digest | None:
        with self._tx() as session:
            row = session.scalars(select(DigestRow).where(DigestRow.run_id == run_id)).first()
            return None if row is None else digest_record(row)

    def previous_digest_runs(self, subscription_id: int, *, limit: int = 10) -> list[Run]:
        """Completed ('done') runs of this subscription's posted digests, newest first: the
        history a new digest is compared against."""
        if limit < 1:
            return []
        with self._tx() as session:
            rows = session.scalars(
                select(RunRow)
                .join(DigestRow, DigestRow.run_id == RunRow.id)
                .where(
                    DigestRow.subscription_id == subscription_id,
                    DigestRow.status == "posted",
                    RunRow.status == "done",
                )
                .order_by(DigestRow.created_at.desc(), DigestRow.id.desc())
                .limit(limit)
            ).all()
            return [run_record(row) for row in rows]


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("pass a timezone-aware datetime (UTC), not a naive one")
