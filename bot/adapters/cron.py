"""Digest schedules as APScheduler 3 triggers: fire times in the subscription's own timezone.

`bot.core.schedules` validates what users type (pure); this module turns a validated `DigestSpec`
into the trigger the scheduler runs and lists upcoming fire times for people to read.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from bot.core.schedules import MAX_FIRE_TIMES, DigestSpec


class DigestCronTrigger(CronTrigger):
    """A `CronTrigger` that fires once per local wall-clock time.

    When DST ends, 01:00-02:00 happens twice; the plain trigger fires a "daily 01:30" schedule at
    both 01:30s, i.e. posts that day's digest twice. Like cron, we skip the repeated occurrence.
    (In the spring gap a non-existent 02:30 fires once, at the equivalent instant 03:30.)
    Defined at module level so APScheduler's job stores can pickle it.
    """

    __slots__ = ()

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and fire.fold == 1 and fire.replace(fold=0).utcoffset() != fire.utcoffset():
            fire = super().get_next_fire_time(fire, fire)
        return fire


def build_trigger(spec: DigestSpec) -> CronTrigger:
    """The APScheduler 3 trigger for ``spec``: fires at second 0 of each matching local minute."""
    return DigestCronTrigger(
        second=0, timezone=zoneinfo.ZoneInfo(spec.timezone), **spec.trigger_fields()
    )


def next_fire_times(spec: DigestSpec, after: datetime, n: int) -> list[datetime]:
    """The next ``n`` fire times strictly after ``after`` (timezone-aware), in the spec's zone."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("`after` must be timezone-aware")
    if not 1 <= n <= MAX_FIRE_TIMES:
        raise ValueError(f"n must be between 1 and {MAX_FIRE_TIMES}")
    trigger = build_trigger(spec)
    times: list[datetime] = []
    # Step in UTC: adding to a local wall-clock time across a DST change would skip or repeat.
    cursor = after.astimezone(UTC)
    for _ in range(n):
        fire = trigger.get_next_fire_time(None, cursor + timedelta(microseconds=1))
        if fire is None:  # cannot happen for validated specs (no end date), but never loop on it
            break
        times.append(fire)
        cursor = fire.astimezone(UTC)
    return times


def scheduler_job_defaults() -> dict[str, Any]:
    """APScheduler ``job_defaults`` for digest jobs.

    - ``coalesce=True``: after downtime APScheduler would run a job once per missed fire; coalescing
      folds them into a single run, so a restart never posts a burst of back-to-back digests.
    - ``max_instances=1``: a slow digest never overlaps the next fire of the same subscription.
    - ``misfire_grace_time=900`` (15 min): a fire is still honoured if the bot comes back (deploy,
      crash-restart) or a busy worker pool picks the job up within 15 minutes of its scheduled time;
      later than that the fire is skipped rather than posting a stale "09:00" digest at 14:00.
      Skipping loses nothing: the next run digests every archive not yet digested.
    """
    return {"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60}
