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

TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
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
