"""What the bot's database hands back: plain frozen records, safe to use after the session is gone.

The ORM rows (`bot.adapters.db.schema`) never leave the database adapter; callers get these copies
instead, so a record can cross threads and outlive the connection it was read with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

Trigger = Literal["cli", "slash", "schedule", "mention"]
RunStatus = Literal["queued", "running", "done", "failed"]
FinishedRunStatus = Literal["done", "failed"]
# claimed = a process owns it and is working on it; posted = the digest reached Slack;
# failed = it crashed or could not be posted (and the failure was reported, never retried silently).
DigestRecordStatus = Literal["claimed", "posted", "failed"]
FinishedDigestStatus = Literal["posted", "failed"]

# A task: one piece of work in the durable queue (any replica may run it).
TaskKind = Literal["analysis", "compare", "answer", "digest"]
# queued -> running (a replica holds its lease) -> done | failed; a running task whose lease expired
# (its replica died) is taken over by another replica, or given up after too many attempts.
TaskState = Literal["queued", "running", "done", "failed"]
FinishedTaskState = Literal["done", "failed"]

TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
TASK_KINDS: tuple[TaskKind, ...] = get_args(TaskKind)
TASK_STATES: tuple[TaskState, ...] = get_args(TaskState)
FINISHED_TASK_STATES: tuple[FinishedTaskState, ...] = get_args(FinishedTaskState)
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
FINISHED_RUN_STATUSES: tuple[FinishedRunStatus, ...] = get_args(FinishedRunStatus)
DIGEST_STATUSES: tuple[DigestRecordStatus, ...] = get_args(DigestRecordStatus)
FINISHED_DIGEST_STATUSES: tuple[FinishedDigestStatus, ...] = get_args(FinishedDigestStatus)


@dataclass(frozen=True)
class Run:
    """One analysis (any trigger); ``parent_ts`` is the bot's parent message of its thread."""

    id: int
    run_key: str | None
    archive: str
    trigger: Trigger
    channel: str | None
    thread_ts: str | None
    parent_ts: str | None
    user: str | None
    status: RunStatus
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    facts: Any
    timings: Any
    summary: Any
    report_md: str | None


@dataclass(frozen=True)
class Subscription:
    """A channel's standing order for digests of one storage prefix."""

    id: int
    channel: str
    schedule: str
    trigger: dict[str, Any]
    timezone: str
    prefix: str
    quiet_when_nothing_new: bool
    created_by: str | None
    created_at: datetime
    active: bool


@dataclass(frozen=True)
class Task:
    """One piece of work in the durable queue: an analysis, a thread answer or a digest fire.

    ``key`` makes a request exactly-once across replicas (the event or fire it came from).
    ``owner``/``lease_expires_at`` say which replica runs it and until when its lease holds (the
    owner's heartbeat extends it); ``attempt`` counts the claims so far, and together with
    ``owner`` fences a replica that lost its lease. ``message_ts`` is the Slack message the task
    shows its progress in (so whoever takes the task over edits that same message).

    ``ack_ts`` is the message posted right after Slack's acknowledgement, before any worker was
    free ("queued, position 3" / "starting…"; ``ack_queued`` says it shows a queue position): the
    worker that claims the task carries on in it instead of posting another. ``ack_until``: while
    that post is under way the task is not claimed (until then at most); a worker claiming it
    later without ``ack_ts`` looks for the message in Slack by the task's key.
    """

    id: int
    kind: TaskKind
    key: str
    payload: dict[str, Any]
    state: TaskState
    run_id: int | None
    channel: str | None
    message_ts: str | None
    owner: str | None
    lease_expires_at: datetime | None
    attempt: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    previous_owner: str | None = None  # set by a claim that took the task over from a dead replica
    ack_ts: str | None = None
    ack_queued: bool = False
    ack_until: datetime | None = None


@dataclass(frozen=True)
class Queued:
    """What queueing a task did: ``task`` is None when it was a duplicate (its key was taken) or
    refused (the line was full). ``running``/``ahead``: the other tasks of its kind running, and
    those queued before it, at that moment (its place in line)."""

    task: Task | None
    duplicate: bool = False
    refused: bool = False
    running: int = 0
    ahead: int = 0


@dataclass(frozen=True)
class Replica:
    """A running bot process, as its heartbeat shows it to the others."""

    id: str
    host: str
    pid: int
    workers: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None


@dataclass(frozen=True)
class Digest:
    """One archive digested for one subscription; ``run_key`` makes the claim exclusive."""

    id: int
    subscription_id: int
    archive: str
    run_id: int | None
    run_key: str
    status: DigestRecordStatus
    posted_ts: str | None
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    task_id: int | None = None  # the digest fire (task) that claimed it: a take-over resumes it
