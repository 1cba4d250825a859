"""Digest schedule parsing: the accepted forms, the refusals and their messages (`bot.core.schedules`).

Fire times and APScheduler behaviour are in tests/adapters/test_cron.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.cron import next_fire_times
from bot.core.schedules import DigestSpec, parse_digest_command, parse_schedule
from bot.errors import ChimeraError, ScheduleError

UTC = UTC


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "schedule", "prefix", "tz", "dow", "hour", "minute"),
    [
        ("weekdays 09:00 nightly/ Europe/Berlin", "weekdays 09:00", "nightly/", "Europe/Berlin",
         "mon,tue,wed,thu,fri", "9", "0"),
        ('"daily 9:05" nightly/', "daily 09:05", "nightly/", "UTC", "*", "9", "5"),
        ("'weekdays 18:30' perf/gpu-a/ America/New_York", "weekdays 18:30", "perf/gpu-a/",
         "America/New_York", "mon,tue,wed,thu,fri", "18", "30"),
        # Slack turns typed quotes into curly ones on many clients.
        ("\u201cdaily 07:00\u201d nightly/ Asia/Tokyo", "daily 07:00", "nightly/", "Asia/Tokyo", "*", "7", "0"),
        ("weekly Monday 08:15 weekly/ europe/berlin", "weekly mon 08:15", "weekly/", "Europe/Berlin",
         "mon", "8", "15"),
        # Standard crontab numbering: 1-5 is Monday..Friday (APScheduler 3's own numbering would
        # make it Tuesday..Saturday).
        ("0 9 * * 1-5 nightly/", "0 9 * * 1-5", "nightly/", "UTC", "mon,tue,wed,thu,fri", "9", "0"),
        ('"0 9 * * 1-5" nightly/ utc', "0 9 * * 1-5", "nightly/", "UTC", "mon,tue,wed,thu,fri", "9", "0"),
        ("0 6 * * 0,7 n/", "0 6 * * 0,7", "n/", "UTC", "sun", "6", "0"),
        ("30 */6 * * sat,sun n/", "30 */6 * * sat,sun", "n/", "UTC", "sun,sat", "0,6,12,18", "30"),
        ("0 9 * * 5-7 n/", "0 9 * * 5-7", "n/", "UTC", "sun,fri,sat", "9", "0"),
        ("0 9 * jan-mar/2 mon-wed n/", "0 9 * jan-mar/2 mon-wed", "n/", "UTC", "mon,tue,wed", "9", "0"),
        ("digest add daily 09:00 nightly/", "daily 09:00", "nightly/", "UTC", "*", "9", "0"),
    ],
)
def test_parse_accepts_the_documented_forms(
    text: str, schedule: str, prefix: str, tz: str, dow: str, hour: str, minute: str
) -> None:
    spec = parse_digest_command(text)
    assert (spec.schedule, spec.prefix, spec.timezone) == (schedule, prefix, tz)
    assert (spec.day_of_week, spec.hour, spec.minute) == (dow, hour, minute)


def test_sat_sun_range_in_crontab_numbers_is_rejected_not_wrapped() -> None:
    # "sat-sun" is 6-0 in crontab numbers: an empty range. We refuse instead of guessing.
    with pytest.raises(ScheduleError):
        parse_digest_command("0 9 * * 6-0 n/")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No schedule"),
        ("   ", "No schedule"),
        ("daily 09:00", "No storage prefix"),
        ("daily", "not a complete schedule"),
        ("daily 9am nightly/", "24-hour time"),
        ("daily 24:00 nightly/", "24-hour time"),
        ("weekdays 09:60 nightly/", "24-hour time"),
        ("weekly funday 09:00 nightly/", "day of the week"),
        ("hourly nightly/", "not a complete schedule"),
        ("* * * * * nightly/", "at most hourly"),
        ("*/5 9 * * * nightly/", "at most hourly"),
        ("0,30 9 * * * nightly/", "at most hourly"),
        ("0 9 31 2 * nightly/", "never occurs"),
        ("0 9 1 * 1-5 nightly/", "not both"),
        ("0 9 * * 8 nightly/", "outside 0-7"),
        ("61 9 * * * nightly/", "outside 0-59"),
        ("0 9 * * L nightly/", "not valid"),
        ("0 9 ? * * nightly/", "not valid"),
        ("0 9 */0 * * nightly/", "empty range"),
        ("0 9 * * 5-1 nightly/", "empty range"),
        ("0 9 1W * * nightly/", "not valid"),
        ("daily 09:00 nightly/ Mars/Olympus_Mons", "IANA timezone"),
        ("daily 09:00 nightly/ ../../etc/passwd", "IANA timezone"),
        ("daily 09:00 nightly/ EST5EDT/../x", "IANA timezone"),
        ("daily 09:00 Europe/Berlin", "storage prefix must come before"),
        ("daily 09:00 nightly/ UTC extra words", "Unexpected extra words"),
        ("daily 09:00 ../secrets/", "`..`"),
        ('"daily 09:00 nightly/', "unclosed quote"),
        ("daily 09:00 night\x00ly/", "control characters"),
        ("daily 09:00 " + "p" * 400, "too long"),
        ("0 9 * * 1-5-7 nightly/", "not valid"),
        ("0 9 * * " + ",".join(["1"] * 70) + " nightly/", "not valid"),
    ],
)
def test_parse_rejects_junk_with_a_short_user_message(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_digest_command(text)
    err = info.value
    assert isinstance(err, ChimeraError)
    assert fragment in err.problem
    message = str(err)
    assert "daily 09:00" in message and "weekdays 09:00" in message  # says what is accepted
    assert len(message) < 500 and "\x00" not in message and "Traceback" not in message


def test_long_prefix_is_rejected_by_parse_schedule() -> None:
    with pytest.raises(ScheduleError, match="prefix is too long"):
        parse_schedule("daily 09:00", prefix="p" * 300)


def test_parse_never_crashes_on_random_junk() -> None:
    import random

    rng = random.Random(1234)
    alphabet = "0123456789*/-,: abcdefghijklmnopqrstuvwxyz\"'\u201c\u201d\\\t\n\x00@#`"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        try:
            spec = parse_digest_command(text)
        except ScheduleError:
            continue
        # Whatever got through must produce a working trigger.
        assert next_fire_times(spec, datetime(2025, 1, 1, tzinfo=UTC), 2)


def test_spec_round_trips_through_parse_schedule() -> None:
    spec = parse_digest_command("'0 9 * * 1-5' nightly/ Europe/Berlin")
    again = parse_schedule(spec.schedule, prefix=spec.prefix, timezone=spec.timezone)
    assert again == spec
    assert "Europe/Berlin" in spec.describe() and "nightly/" in spec.describe()


def test_digest_spec_is_frozen() -> None:
    spec = parse_digest_command("daily 09:00 n/")
    assert isinstance(spec, DigestSpec)
    with pytest.raises(AttributeError):
        spec.prefix = "other/"  # type: ignore[misc]
