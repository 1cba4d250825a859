"""Digest schedules: parse what a user typed into a validated spec (pure).

Accepted schedule forms (the argument text of ``/chimera digest add``)::

    <schedule> <storage prefix> [IANA timezone, default UTC]

    schedule := 5-field cron  "0 9 * * 1-5"   (standard crontab: day of week 0/7 = Sunday)
              | daily HH:MM | weekdays HH:MM | weekly <day> HH:MM

The schedule may be quoted ("..." '...' or Slack's curly quotes) or not. `bot.adapters.cron` turns
a spec into the APScheduler trigger that runs it.
"""

from __future__ import annotations

import re
import shlex
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from bot.errors import ScheduleError

MAX_COMMAND_CHARS = 300
MAX_PREFIX_CHARS = 256
MAX_FIRE_TIMES = 1000
# A digest posts to a channel; more than one per hour is spam, not a digest. "0 * * * *" is the
# densest schedule accepted (see `_check_density`).
DEFAULT_TIMEZONE = "UTC"

USAGE = (
    "Use `/chimera digest add <schedule> <storage prefix> [timezone]` where the schedule is "
    '`daily 09:00`, `weekdays 09:00`, `weekly mon 09:00` or a 5-field cron like "0 9 * * 1-5"; '
    "the timezone is an IANA name like Europe/Berlin (default UTC)."
)


def _schedule_error(problem: str) -> ScheduleError:
    return ScheduleError(problem, usage=USAGE)


@dataclass(frozen=True)
class DigestSpec:
    """A validated digest subscription schedule.

    ``schedule`` is the canonical schedule text (what `parse_schedule` accepts back, e.g. for
    re-validating a stored subscription). The cron fields are in APScheduler 3 syntax: plain
    numbers / ``*`` for minute, hour, day and month, and weekday *names* for ``day_of_week``
    (APScheduler 3 numbers weekdays from Monday=0, crontab from Sunday=0; names avoid that trap).
    """

    schedule: str
    prefix: str
    timezone: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str

    def describe(self) -> str:
        return f"{self.schedule} ({self.timezone}) for `{self.prefix}`"

    def trigger_fields(self) -> dict[str, str]:
        return {
            "minute": self.minute,
            "hour": self.hour,
            "day": self.day,
            "month": self.month,
            "day_of_week": self.day_of_week,
        }


# --------------------------------------------------------------------------- public functions


def parse_digest_command(text: str) -> DigestSpec:
    """Parse ``<schedule> <prefix> [timezone]`` (optionally preceded by ``digest add``).

    Raises `ScheduleError` with a short user-facing message on anything else.
    """
    if not isinstance(text, str):
        raise _schedule_error("The digest command is empty.")
    if len(text) > MAX_COMMAND_CHARS:
        raise _schedule_error(f"The digest command is too long (over {MAX_COMMAND_CHARS} characters).")
    if _CONTROL.search(text.replace("\n", " ").replace("\t", " ")):
        raise _schedule_error("The digest command contains control characters.")
    normalized = text.translate(_QUOTES).strip()
    try:
        tokens = shlex.split(normalized)
    except ValueError:
        raise _schedule_error("The digest command has an unclosed quote or a stray backslash.") from None
    # Tolerate the sub-command words in front, so callers may pass the whole slash-command text.
    for word in ("digest", "add"):
        if tokens and tokens[0].lower() == word:
            tokens = tokens[1:]
    if not tokens:
        raise _schedule_error("No schedule given.")

    schedule_tokens, rest = _split_schedule(tokens)
    if not rest:
        raise _schedule_error("No storage prefix given.")
    if len(rest) > 2:
        raise _schedule_error(f"Unexpected extra words after the timezone: `{_echo(' '.join(rest[2:]))}`.")
    prefix = rest[0]
    tz_name = rest[1] if len(rest) == 2 else DEFAULT_TIMEZONE
    if len(rest) == 1 and "/" in prefix and _canonical_timezone(prefix) is not None:
        raise _schedule_error(
            f"`{_echo(prefix)}` is a timezone, but the storage prefix must come before it."
        )
    return parse_schedule(" ".join(schedule_tokens), prefix=prefix, timezone=tz_name)


def parse_schedule(schedule: str, *, prefix: str, timezone: str = DEFAULT_TIMEZONE) -> DigestSpec:
    """Validate one schedule (without prefix/timezone words) plus its prefix and timezone."""
    if not isinstance(schedule, str) or not schedule.strip():
        raise _schedule_error("No schedule given.")
    if len(schedule) > MAX_COMMAND_CHARS:
        raise _schedule_error("The schedule is too long.")
    words = schedule.translate(_QUOTES).replace('"', " ").replace("'", " ").split()
    head = words[0].lower()
    if head in _HUMAN_FORMS:
        canonical, fields = _parse_human(words)
    elif len(words) == 5:
        canonical, fields = _parse_cron(words)
    else:
        raise _schedule_error(f"`{_echo(schedule)}` is not a schedule I understand.")
    _check_density(fields)
    _check_reachable(fields)
    return DigestSpec(
        schedule=canonical,
        prefix=_validate_prefix(prefix),
        timezone=_validate_timezone(timezone),
        **fields,
    )


# --------------------------------------------------------------------------- parsing internals

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_HUMAN_FORMS = {"daily", "weekdays", "weekly"}
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order, Sunday = 0
_DOW_FULL = {
    "sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
    "saturday": 6,
}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb 29 exists in leap years
_CRON_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d{1,2}))?$")
# (name, low, high, names) for the five crontab fields, in order.
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day_of_week", 0, 7, _DOW_NAMES),
)


def _split_schedule(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Split tokens into (schedule words, remaining words)."""
    first = tokens[0]
    if len(first.split()) > 1:  # the schedule was quoted into one token
        return first.split(), tokens[1:]
    head = first.lower()
    if head in ("daily", "weekdays"):
        size = 2
    elif head == "weekly":
        size = 3
    else:
        size = 5
    if len(tokens) < size:
        raise _schedule_error(f"`{_echo(' '.join(tokens))}` is not a complete schedule.")
    return tokens[:size], tokens[size:]


def _parse_time(word: str) -> tuple[int, int]:
    match = _TIME.match(word)
    if not match:
        raise _schedule_error(f"`{_echo(word)}` is not a 24-hour time like 09:00.")
    return int(match.group(1)), int(match.group(2))


def _parse_human(words: list[str]) -> tuple[str, dict[str, str]]:
    head = words[0].lower()
    if head in ("daily", "weekdays"):
        if len(words) != 2:
            raise _schedule_error(f"Write `{head} HH:MM`, e.g. `{head} 09:00`.")
        hour, minute = _parse_time(words[1])
        dow = "*" if head == "daily" else "mon,tue,wed,thu,fri"
        canonical = f"{head} {hour:02d}:{minute:02d}"
    else:
        if len(words) != 3:
            raise _schedule_error("Write `weekly <day> HH:MM`, e.g. `weekly mon 09:00`.")
        day_word = words[1].lower()
        day = _DOW_FULL.get(day_word, _DOW_NAMES.index(day_word) if day_word in _DOW_NAMES else None)
        if day is None:
            raise _schedule_error(f"`{_echo(words[1])}` is not a day of the week (mon ... sun).")
        hour, minute = _parse_time(words[2])
        dow = _DOW_NAMES[day]
        canonical = f"weekly {dow} {hour:02d}:{minute:02d}"
    fields = {"minute": str(minute), "hour": str(hour), "day": "*", "month": "*", "day_of_week": dow}
    return canonical, fields


def _parse_cron(words: list[str]) -> tuple[str, dict[str, str]]:
    words = [w.lower() for w in words]
    day_text, dow_text = words[2], words[4]
    if day_text != "*" and dow_text != "*":
        # crontab fires when EITHER matches, APScheduler when BOTH do; refuse the ambiguity.
        raise _schedule_error("Give a day of the month or a day of the week in the cron, not both.")
    fields: dict[str, str] = {}
    for word, (name, low, high, names) in zip(words, _CRON_FIELDS, strict=False):
        values = _expand_cron_field(word, name, low, high, names)
        if name == "day_of_week":
            values = {v % 7 for v in values}  # 7 is Sunday too
            fields[name] = "*" if word == "*" else ",".join(_DOW_NAMES[v] for v in sorted(values))
        else:
            fields[name] = "*" if word == "*" else ",".join(str(v) for v in sorted(values))
    return " ".join(words), fields


def _expand_cron_field(word: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    label = name.replace("_", " ")
    items = word.split(",")
    if len(items) > 60 or not word:
        raise _schedule_error(f"The cron {label} field `{_echo(word)}` is not valid.")
    values: set[int] = set()
    for item in items:
        match = _CRON_ITEM.match(item)
        if not match:
            raise _schedule_error(f"The cron {label} field `{_echo(word)}` is not valid.")
        span, step_text = match.group(1), match.group(2)
        if span == "*":
            # For weekdays "*" means Sunday..Saturday; 7 only exists as an alias.
            start, end = low, (6 if name == "day_of_week" else high)
        elif "-" in span:
            start_text, end_text = span.split("-")
            start = _cron_value(start_text, label, word, low, high, names)
            end = _cron_value(end_text, label, word, low, high, names)
        else:
            start = end = _cron_value(span, label, word, low, high, names)
            if step_text is not None:  # "5/15": from 5 to the end, as most crons read it
                end = 6 if name == "day_of_week" else high
        step = int(step_text) if step_text is not None else 1
        if start > end or step < 1:
            raise _schedule_error(f"The cron {label} field `{_echo(word)}` has an empty range.")
        values.update(range(start, end + 1, step))
    return values


def _cron_value(text: str, label: str, word: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.isdigit() and len(text) <= 2:
        value = int(text)
    elif text in names:
        value = names.index(text) + (1 if label == "month" else 0)
    else:
        raise _schedule_error(f"The cron {label} field `{_echo(word)}` is not valid.")
    if not low <= value <= high:
        raise _schedule_error(f"The cron {label} value {value} is outside {low}-{high}.")
    return value


def _field_values(expr: str, low: int, high: int) -> set[int]:
    return set(range(low, high + 1)) if expr == "*" else {int(v) for v in expr.split(",")}


def _check_density(fields: dict[str, str]) -> None:
    # One minute value means at most one fire per hour (24 a day); anything denser is refused.
    if len(_field_values(fields["minute"], 0, 59)) > 1:
        raise _schedule_error("That schedule fires more than once an hour; digests are at most hourly.")


def _check_reachable(fields: dict[str, str]) -> None:
    """Reject day/month combinations that never occur (e.g. 31 February)."""
    days = _field_values(fields["day"], 1, 31)
    months = _field_values(fields["month"], 1, 12)
    if not any(min(days) <= _DAYS_IN_MONTH[m - 1] for m in months):
        raise _schedule_error("That day of the month never occurs in the chosen months.")


def _validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix.strip():
        raise _schedule_error("No storage prefix given.")
    prefix = prefix.strip()
    if len(prefix) > MAX_PREFIX_CHARS:
        raise _schedule_error(f"The storage prefix is too long (over {MAX_PREFIX_CHARS} characters).")
    if _CONTROL.search(prefix) or any(ch.isspace() for ch in prefix):
        raise _schedule_error("The storage prefix contains spaces or control characters.")
    if ".." in prefix.replace("\\", "/").split("/"):
        raise _schedule_error("The storage prefix may not contain `..`.")
    return prefix


_TZ_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")


def _validate_timezone(name: str) -> str:
    canonical = _canonical_timezone(name) if isinstance(name, str) else None
    if canonical is None:
        raise _schedule_error(f"`{_echo(str(name))}` is not an IANA timezone name like Europe/Berlin.")
    return canonical


def _canonical_timezone(name: str) -> str | None:
    """The IANA key for ``name`` (case-insensitive), or None when there is no such zone."""
    name = name.strip()
    if len(name) > 64 or not _TZ_SHAPE.match(name):
        return None
    key = _zone_keys().get(name.lower())
    if key is None:
        return None
    try:
        zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return key


@lru_cache(maxsize=1)
def _zone_keys() -> dict[str, str]:
    keys = {key.lower(): key for key in zoneinfo.available_timezones()}
    keys.setdefault("utc", "UTC")
    return keys


def _echo(text: str, limit: int = 40) -> str:
    """User text safe to quote back inside backticks: bounded, no backticks or control chars."""
    cleaned = _CONTROL.sub("", text).replace("`", "'")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
