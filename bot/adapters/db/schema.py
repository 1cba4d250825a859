"""The ORM tables (SQLAlchemy 2 typed declarative). Portable: SQLite by default, PostgreSQL too.

This is the *current* shape of the schema; the database gets there only through the Alembic
revisions in `bot/migrations/versions` (production code never calls ``create_all``). A test
compares this metadata with a migrated database, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.core.records import DIGEST_STATUSES, RUN_STATUSES, TASK_KINDS, TASK_STATES, TRIGGERS

# Deterministic constraint names, so later migrations (and SQLite batch mode) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT is not a rowid alias in SQLite, so it would not autoincrement there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# Tables the migrations create that are not in `Base.metadata` (APScheduler declares its own job
# table): schema comparisons and ``alembic revision --autogenerate`` leave them alone instead of
# proposing to drop them.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's ``include_name`` hook: everything but `FOREIGN_TABLES`."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, whatever the backend keeps.

    SQLite has no time zones: we store naive UTC there and re-attach UTC when reading.
    A naive datetime handed in is refused: it would silently mean local time somewhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use a UTC-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    # Quoted: 'trigger' is a keyword in SQLite and PostgreSQL.
    listed = ", ".join(f"'{v}'" for v in values)
    return f'"{column}" IN ({listed})'


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # none_as_null: a missing document is SQL NULL, not the JSON text "null".
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(none_as_null=True),
        Any: JSON(none_as_null=True),
    }


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_one_of("trigger", TRIGGERS), name="trigger"),
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
        Index(None, "channel", "parent_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str | None] = mapped_column(Text, unique=True)
    archive: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(Text)
    thread_ts: Mapped[str | None] = mapped_column(Text)
    parent_ts: Mapped[str | None] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    facts: Mapped[Any | None]
    timings: Mapped[Any | None]
    summary: Mapped[Any | None]
    report_md: Mapped[str | None] = mapped_column(Text)


class MeasurementRow(Base):
    """One tidy measurement (see `bot.core.types` for the meaning of each column)."""

    __tablename__ = "measurements"
    __table_args__ = (Index(None, "run_id", "model", "metric"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    request_id: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    row: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str | None] = mapped_column(Text)
    config: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Double)
    unit: Mapped[str | None] = mapped_column(Text)
    failed: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[str | None] = mapped_column(Text)
    # added in revision 0002: runs stored before it read back as '{}', '{}', '' and NaN
    context: Mapped[str | None] = mapped_column(Text)
    identifiers: Mapped[str | None] = mapped_column(Text)
    statistic: Mapped[str | None] = mapped_column(Text)
    n: Mapped[float | None] = mapped_column(Double)


class AnsweredEventRow(Base):
    """Slack event ids already handled: the primary key makes 'first one wins' atomic."""

    __tablename__ = "answered_events"

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, index=True)
    schedule: Mapped[str] = mapped_column(Text)  # the spec as the user typed it
    trigger: Mapped[dict[str, Any]]  # parsed cron fields, as the scheduler needs them
    timezone: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    quiet_when_nothing_new: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DigestRow(Base):
    __tablename__ = "digests"
    __table_args__ = (
        CheckConstraint(_one_of("status", DIGEST_STATUSES), name="status"),
        Index(None, "subscription_id", "archive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    archive: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    run_key: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    posted_ts: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))


class TaskRow(Base):
    """The durable queue: analyses, thread answers and digest fires, claimed with a lease."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_one_of("kind", TASK_KINDS), name="kind"),
        CheckConstraint(_one_of("state", TASK_STATES), name="state"),
        Index(None, "state", "kind", "id"),
        Index(None, "owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(Text, unique=True)
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None]
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The message posted at the ack (see `bot.core.records.Task`), and until when a claim waits for it.
    ack_ts: Mapped[str | None] = mapped_column(Text)
    ack_queued: Mapped[bool] = mapped_column(Boolean, default=False)
    ack_until: Mapped[datetime | None]


class ReplicaRow(Base):
    """One bot process and its heartbeat (what the others see of it)."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    workers: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None]
