"""What the bot's database hands back: plain frozen records, safe to use after the session is gone.

The ORM rows (`bot.adapters.db.schema`) never leave the database adapter; callers get these copies
instead, so a record can cross threads and outlive the connection it was read with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

TRIGGERS: tuple[str, ...] = ("cli", "slash", "schedule", "mention")
RUN_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")
FINISHED_RUN_STATUSES: tuple[str, ...] = ("done", "failed")
# claimed = a process owns it and is working on it; posted = the digest reached Slack;
# failed = it crashed or could not be posted (and the failure was reported, never retried silently).
DIGEST_STATUSES: tuple[str, ...] = ("claimed", "posted", "failed")
FINISHED_DIGEST_STATUSES: tuple[str, ...] = ("posted", "failed")


@dataclass(frozen=True)
class Run:
    """One analysis (any trigger); ``parent_ts`` is the bot's parent message of its thread."""

    id: int
    run_key: str | None
    archive: str
    trigger: str
    channel: str | None
    thread_ts: str | None
    parent_ts: str | None
    user: str | None
    status: str
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
    status: str
    posted_ts: str | None
    created_at: datetime
    finished_at: datetime | None
    error: str | None
