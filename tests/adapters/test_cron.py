"""Cron triggers across DST and APScheduler 3 firing behaviour (`bot.adapters.cron`), for schedules
parsed by `bot.core.schedules` (whose parsing is tested in tests/core/test_schedules.py)."""

from __future__ import annotations

import pickle
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from freezegun import freeze_time

from bot.adapters.cron import build_trigger, next_fire_times, scheduler_job_defaults
from bot.core.schedules import parse_digest_command

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# --------------------------------------------------------------------------- fire times


def _local(times: list[datetime], tz: ZoneInfo) -> list[tuple[str, int, int, timedelta | None]]:
    return [(t.astimezone(tz).strftime("%a %m-%d"), t.astimezone(tz).hour, t.astimezone(tz).minute,
             t.utcoffset()) for t in times]


def test_berlin_daily_0900_stays_0900_local_across_october_dst_end() -> None:
    spec = parse_digest_command("daily 09:00 nightly/ Europe/Berlin")
    with freeze_time("2025-10-24 12:00:00"):  # Friday; DST ends Sunday 26 Oct, 03:00 -> 02:00
        times = next_fire_times(spec, datetime.now(UTC), 4)
    assert [t.astimezone(BERLIN).hour for t in times] == [9, 9, 9, 9]
    assert [t.astimezone(UTC).isoformat() for t in times] == [
        "2025-10-25T07:00:00+00:00",  # CEST, UTC+2
        "2025-10-26T08:00:00+00:00",  # CET, UTC+1 (first day after the change)
        "2025-10-27T08:00:00+00:00",
        "2025-10-28T08:00:00+00:00",
    ]
    assert [t.utcoffset() for t in times] == [timedelta(hours=2)] + [timedelta(hours=1)] * 3


def test_new_york_weekdays_0900_across_march_dst_start() -> None:
    spec = parse_digest_command("weekdays 09:00 nightly/ America/New_York")
    with freeze_time("2025-03-06 20:00:00"):  # Thursday; DST starts Sunday 9 Mar, 02:00 -> 03:00
        times = next_fire_times(spec, datetime.now(UTC), 4)
    assert _local(times, NEW_YORK) == [
        ("Fri 03-07", 9, 0, timedelta(hours=-5)),  # EST
        ("Mon 03-10", 9, 0, timedelta(hours=-4)),  # EDT; Sat/Sun skipped
        ("Tue 03-11", 9, 0, timedelta(hours=-4)),
        ("Wed 03-12", 9, 0, timedelta(hours=-4)),
    ]
    assert [t.astimezone(UTC).hour for t in times] == [14, 13, 13, 13]


def test_crontab_weekday_numbers_mean_monday_to_friday_for_a_whole_year() -> None:
    """A year of "0 9 * * 1-5" in two zones: only Mon-Fri, always 09:00 local, both DST changes."""
    for tz in (BERLIN, NEW_YORK):
        spec = parse_digest_command(f"0 9 * * 1-5 nightly/ {tz.key}")
        times = next_fire_times(spec, datetime(2025, 1, 1, tzinfo=UTC), 261)
        local = [t.astimezone(tz) for t in times]
        assert all(t.weekday() < 5 for t in local)
        assert all((t.hour, t.minute, t.second) == (9, 0, 0) for t in local)
        assert len({t.date() for t in local}) == 261  # no day twice, none skipped...
        assert local[0].date().isoformat() == "2025-01-01" and local[-1].year == 2025
        assert {t.utcoffset() for t in local} == {tz.utcoffset(datetime(2025, 1, 15)),
                                                  tz.utcoffset(datetime(2025, 7, 15))}


def test_sunday_is_0_and_7_and_weekly_names_work() -> None:
    after = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday
    for text in ("0 6 * * 0 n/", "0 6 * * 7 n/", "0 6 * * sun n/", "weekly sunday 06:00 n/"):
        times = next_fire_times(parse_digest_command(text), after, 3)
        assert [t.strftime("%a %H:%M") for t in times] == ["Sun 06:00"] * 3, text


def test_timezones_shift_the_utc_fire_time() -> None:
    after = datetime(2025, 1, 15, tzinfo=UTC)
    utc_hours = {
        tz: next_fire_times(parse_digest_command(f"daily 09:00 n/ {tz}"), after, 1)[0].astimezone(UTC).hour
        for tz in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
    }
    assert utc_hours == {"UTC": 9, "Europe/Berlin": 8, "America/New_York": 14, "Asia/Kolkata": 3}
    kolkata = next_fire_times(parse_digest_command("daily 09:00 n/ Asia/Kolkata"), after, 1)[0]
    assert kolkata.astimezone(UTC).minute == 30  # UTC+05:30


def test_next_fire_times_is_strictly_after_and_checks_arguments() -> None:
    spec = parse_digest_command("daily 09:00 n/")
    at_fire = datetime(2025, 5, 5, 9, 0, tzinfo=UTC)
    assert next_fire_times(spec, at_fire, 1)[0] == at_fire + timedelta(days=1)
    assert next_fire_times(spec, at_fire - timedelta(microseconds=1), 1)[0] == at_fire
    with pytest.raises(ValueError):
        next_fire_times(spec, datetime(2025, 5, 5), 1)  # naive
    with pytest.raises(ValueError):
        next_fire_times(spec, at_fire, 0)


def test_repeated_hour_at_dst_end_fires_once_not_twice() -> None:
    # 01:30 happens twice in New York on 2 Nov 2025 and 02:30 twice in Berlin on 26 Oct 2025;
    # a daily digest must still post once that day.
    for text, after, tz in (
        ("daily 01:30 n/ America/New_York", datetime(2025, 11, 1, 12, tzinfo=UTC), NEW_YORK),
        ("30 2 * * * n/ Europe/Berlin", datetime(2025, 10, 25, 12, tzinfo=UTC), BERLIN),
    ):
        times = next_fire_times(parse_digest_command(text), after, 3)
        local_days = [t.astimezone(tz).date() for t in times]
        assert len(set(local_days)) == 3, times
        assert all((t.astimezone(tz).hour, t.astimezone(tz).minute) == (times[0].hour, 30) for t in times)
    # An hourly schedule still fires every real hour except the repeated one.
    hourly = next_fire_times(parse_digest_command("0 * * * * n/ America/New_York"),
                             datetime(2025, 11, 2, 4, 30, tzinfo=UTC), 3)
    assert [t.astimezone(UTC).hour for t in hourly] == [5, 7, 8]


def test_nonexistent_time_in_spring_gap_fires_once() -> None:
    spec = parse_digest_command("daily 02:30 n/ America/New_York")  # 9 Mar 2025 skips 02:00-03:00
    times = next_fire_times(spec, datetime(2025, 3, 8, 12, tzinfo=UTC), 3)
    assert [t.astimezone(UTC).isoformat() for t in times] == [
        "2025-03-09T07:30:00+00:00",  # the instant a 02:30 EST would be (03:30 EDT)
        "2025-03-10T06:30:00+00:00",
        "2025-03-11T06:30:00+00:00",
    ]


def test_trigger_survives_pickling_as_job_stores_do() -> None:
    trigger = build_trigger(parse_digest_command("daily 01:30 n/ America/New_York"))
    again = pickle.loads(pickle.dumps(trigger))
    after = datetime(2025, 11, 2, 5, 31, tzinfo=UTC)  # just after the first 01:30
    assert type(again) is type(trigger)
    assert again.get_next_fire_time(None, after) == trigger.get_next_fire_time(None, after)
    assert again.get_next_fire_time(None, after).astimezone(UTC).day == 3


def test_build_trigger_uses_the_zoneinfo_of_the_spec() -> None:
    trigger = build_trigger(parse_digest_command("weekdays 09:00 n/ Europe/Berlin"))
    assert trigger.timezone == BERLIN
    first = trigger.get_next_fire_time(None, datetime(2025, 10, 25, 12, tzinfo=UTC))  # Saturday
    assert first == datetime(2025, 10, 27, 9, tzinfo=BERLIN)


def test_job_defaults_coalesce_and_bound_staleness() -> None:
    defaults = scheduler_job_defaults()
    assert defaults["coalesce"] is True and defaults["max_instances"] == 1
    assert 60 <= defaults["misfire_grace_time"] <= 3600


# --------------------------------------------------------------------------- a real scheduler


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, datetime]] = []
        self._lock = threading.Lock()
        self._arrived = threading.Event()

    def __call__(self, event: JobExecutionEvent) -> None:
        name = {EVENT_JOB_EXECUTED: "ran", EVENT_JOB_MISSED: "missed", EVENT_JOB_ERROR: "error"}[event.code]
        with self._lock:
            self.events.append((name, event.scheduled_run_time))
        self._arrived.set()

    def wait_and_take(self) -> list[tuple[str, str]]:
        assert self._arrived.wait(10), "the scheduler did not process the job"
        with self._lock:
            taken = [(n, t.astimezone(BERLIN).strftime("%a %d %H:%M%z")) for n, t in self.events]
            self.events.clear()
            self._arrived.clear()
        return taken


def test_background_scheduler_fires_per_spec_coalesces_and_skips_stale_fires() -> None:
    spec = parse_digest_command("weekdays 09:00 nightly/ Europe/Berlin")
    recorder = _Recorder()
    posted: list[str] = []

    # freezegun's datetime.now() is frozen in every thread (only its time.* fakes consult the
    # ignore list), so APScheduler's scheduler and worker threads see the test's clock.
    with freeze_time("2025-10-24 06:00:00") as clock:  # Fri 08:00 Berlin
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            job_defaults=scheduler_job_defaults(),
            timezone=UTC,
        )
        scheduler.add_listener(recorder, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        scheduler.start()
        try:
            job = scheduler.add_job(lambda: posted.append("digest"), trigger=build_trigger(spec), id="d1")
            assert job.next_run_time == datetime(2025, 10, 24, 9, tzinfo=BERLIN)

            def advance_to(when: datetime) -> list[tuple[str, str]]:
                clock.move_to(when)
                scheduler.wakeup()
                return recorder.wait_and_take()

            # On time: one digest.
            assert advance_to(datetime(2025, 10, 24, 9, 0, 1, tzinfo=BERLIN)) == [
                ("ran", "Fri 24 09:00+0200")
            ]
            # Next fire skips the weekend and is 09:00 local after the DST change (UTC+1).
            assert scheduler.get_job("d1").next_run_time == datetime(2025, 10, 27, 9, tzinfo=BERLIN)
            assert scheduler.get_job("d1").next_run_time.utcoffset() == timedelta(hours=1)

            # Down Mon..Wed, back at Wed 09:05: three fires missed, ONE digest (coalesced),
            # because the newest fire is within the grace time.
            assert advance_to(datetime(2025, 10, 29, 9, 5, tzinfo=BERLIN)) == [
                ("ran", "Wed 29 09:00+0100")
            ]
            # Back at Thu 14:00: the 09:00 fire is stale; skipped, nothing posted.
            assert advance_to(datetime(2025, 10, 30, 14, 0, tzinfo=BERLIN)) == [
                ("missed", "Thu 30 09:00+0100")
            ]
            assert scheduler.get_job("d1").next_run_time == datetime(2025, 10, 31, 9, tzinfo=BERLIN)
            assert posted == ["digest", "digest"]
        finally:
            scheduler.shutdown(wait=True)
