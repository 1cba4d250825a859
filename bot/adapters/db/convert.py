"""ORM rows <-> frozen records, and the checks made before a row is written.

ORM rows never leave the store: these copies are what callers get. Status and trigger columns are
cast to their Literal types: the database's CHECK constraints (`schema.py`) hold them to those values.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.orm import Session

from bot.adapters.db.schema import DigestRow, ReplicaRow, RunRow, SubscriptionRow, TaskRow, utcnow
from bot.core.records import (
    TRIGGERS,
    Digest,
    DigestRecordStatus,
    Replica,
    Run,
    RunStatus,
    Subscription,
    Task,
    TaskKind,
    TaskState,
    Trigger,
)
from bot.errors import UnknownRecord


def get_or_raise(session: Session, model: Any, record_id: int) -> Any:
    row = session.get(model, record_id)
    if row is None:
        raise UnknownRecord(f"No {model.__tablename__[:-1].replace('_', ' ')} with id {record_id}.")
    return row


def new_run_values(
    archive: str,
    trigger: str,
    channel: str | None,
    thread_ts: str | None,
    parent_ts: str | None,
    user: str | None,
    run_key: str | None,
) -> dict[str, Any]:
    """The columns of a new (queued) run, checked."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}, not {trigger!r}")
    if not archive:
        raise ValueError("archive must not be empty")
    return {"run_key": run_key, "archive": archive, "trigger": trigger, "channel": channel,
            "thread_ts": thread_ts, "parent_ts": parent_ts, "user": user, "status": "queued",
            "created_at": utcnow()}


def new_run_row(
    archive: str,
    trigger: str,
    channel: str | None,
    thread_ts: str | None,
    parent_ts: str | None,
    user: str | None,
    run_key: str | None,
) -> RunRow:
    return RunRow(**new_run_values(archive, trigger, channel, thread_ts, parent_ts, user, run_key))


def run_record(row: RunRow) -> Run:
    return Run(
        id=row.id,
        run_key=row.run_key,
        archive=row.archive,
        trigger=cast(Trigger, row.trigger),
        channel=row.channel,
        thread_ts=row.thread_ts,
        parent_ts=row.parent_ts,
        user=row.user,
        status=cast(RunStatus, row.status),
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        facts=row.facts,
        timings=row.timings,
        summary=row.summary,
        report_md=row.report_md,
    )


def subscription_record(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        channel=row.channel,
        schedule=row.schedule,
        trigger=dict(row.trigger),
        timezone=row.timezone,
        prefix=row.prefix,
        quiet_when_nothing_new=row.quiet_when_nothing_new,
        created_by=row.created_by,
        created_at=row.created_at,
        active=row.active,
    )


def digest_record(row: DigestRow) -> Digest:
    return Digest(
        id=row.id,
        subscription_id=row.subscription_id,
        archive=row.archive,
        run_id=row.run_id,
        run_key=row.run_key,
        status=cast(DigestRecordStatus, row.status),
        posted_ts=row.posted_ts,
        created_at=row.created_at,
        finished_at=row.finished_at,
        error=row.error,
        task_id=row.task_id,
    )


def task_record(row: TaskRow, *, previous_owner: str | None = None) -> Task:
    return Task(
        id=row.id,
        kind=cast(TaskKind, row.kind),
        key=row.key,
        payload=dict(row.payload or {}),
        state=cast(TaskState, row.state),
        run_id=row.run_id,
        channel=row.channel,
        message_ts=row.message_ts,
        owner=row.owner,
        lease_expires_at=row.lease_expires_at,
        attempt=row.attempt,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        previous_owner=previous_owner,
        ack_ts=row.ack_ts,
        ack_queued=bool(row.ack_queued),
        ack_until=row.ack_until,
    )


def replica_record(row: ReplicaRow) -> Replica:
    return Replica(id=row.id, host=row.host, pid=row.pid, workers=row.workers, started_at=row.started_at,
                   heartbeat_at=row.heartbeat_at, stopped_at=row.stopped_at)
