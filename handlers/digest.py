"""``/chimera digest add | list | remove``: a channel's digest subscriptions.

Every answer is ephemeral (the slash command's ack text) and names the next three fire times in
the subscription's own timezone, so "09:00" is visibly 09:00 where the team is, DST included.
The listener itself lives in `handlers.commands`; this module turns the text into an answer.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.adapters.cron import next_fire_times
from bot.adapters.storage import validate_name
from bot.core.records import Subscription
from bot.core.schedules import DigestSpec, parse_digest_command, parse_schedule
from bot.errors import ChimeraError, SlackCallFailed
from bot.flows.retry import with_retries
from bot.flows.services import Services
from bot.render.slack_text import escape_mrkdwn

log = logging.getLogger(__name__)

DIGEST_USAGE = (
    "*Digests* post a summary of what is new under a storage prefix, on a schedule, in this channel:\n"
    "• `/chimera digest add <schedule> <prefix> [timezone] [--quiet]` — schedule is `daily 09:00`, "
    '`weekdays 09:00`, `weekly mon 09:00` or a cron like "0 9 * * 1-5"; timezone is an IANA name '
    "(default UTC); `--quiet`: say nothing when nothing is new\n"
    "• `/chimera digest list` — this channel's digests\n"
    "• `/chimera digest remove <id>` — only whoever added the digest, or a workspace admin or owner, "
    "can remove it"
)
MAX_PER_CHANNEL = 20
IsAdmin = Callable[[str], bool]
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SHOWN_FIRES = 3
_QUIET = re.compile(r"(?<!\S)--quiet(?!\S)", re.IGNORECASE)


def is_digest_command(text: str) -> bool:
    words = (text or "").split(maxsplit=1)
    return bool(words) and words[0].lower() == "digest"


def digest_command(services: Services, *, text: str, channel: str, user: str,
                   now: datetime | None = None, is_admin: IsAdmin | None = None, retry_s: float = 0.0) -> str:
    """The ephemeral answer to ``/chimera digest …`` (never raises for user or database errors).

    ``is_admin(user)`` asks Slack whether the user is a workspace admin or owner (users.info; may
    raise `SlackCallFailed`); it is only called when someone removes a digest they did not add.
    Without it, only the creator may remove a digest. A busy or unreachable database is retried
    with backoff for ``retry_s`` (`answer_digest` runs this off the listener threads)."""
    words = (text or "").split(maxsplit=2)
    action = words[1].lower() if len(words) > 1 else "help"
    rest = words[2] if len(words) > 2 else ""
    if action in {"help", "-h", "--help"}:
        return DIGEST_USAGE
    if services.store is None:
        return ":warning: Digests need the bot's database, which is not configured."
    when = now or datetime.now(UTC)

    def act() -> str | None:
        if action == "add":
            return _add(services, rest, channel=channel, user=user, now=when)
        if action == "list" and not rest.strip():
            return _list(services, channel=channel, now=when)
        if action == "remove":
            return _remove(services, rest, channel=channel, user=user, is_admin=is_admin)
        return None

    try:
        answer = with_retries(act, budget_s=retry_s)
    except ChimeraError as err:  # ScheduleError, ArchiveError, StoreError: short user messages
        return f":warning: {escape_mrkdwn(str(err))}"
    return answer if answer is not None else f"I don't know that digest command.\n\n{DIGEST_USAGE}"


# Of Slack's 3 s for the ack: how long the listener waits for the answer before acking without it.
ACK_WAIT_S = 2.0
BUSY_ACK = (":hourglass_flowing_sand: My database is busy right now (another process is writing to it); "
            "I'll carry that out as soon as it is free and answer here.")
# The bot stopped (SIGTERM) before carrying out a digest command it had taken.
DIGEST_NOT_DONE = (":warning: The bot restarted before it could carry out your `/chimera digest` command, "
                   "so nothing was changed. Please run the command again.")
# It stopped while the command was being carried out: it may or may not have been saved.
DIGEST_CUT_OFF = (":warning: The bot restarted while carrying out your `/chimera digest` command, so I can't "
                  "confirm it. Check with `/chimera digest list` and run the command again if needed.")


def answer_digest(services: Services, *, text: str, channel: str, user: str, is_admin: IsAdmin | None,
                  ack: Callable[..., object], respond: Callable[..., object]) -> None:
    """Answer ``/chimera digest …`` within Slack's 3 s, whoever holds the database's write lock.

    The command is carried out off the listener threads (`Services.side`), retried while the
    database is busy for DATABASE_WRITE_RETRY_S. When its answer is ready within `ACK_WAIT_S` it is
    the ack; otherwise the ack says it is on its way and the answer follows through the command's
    ``respond`` (its response URL stays valid for 30 minutes). So no command goes unanswered and a
    digest added while another process holds the lock is saved once it is released. Without a side
    pool (or with it full), the command runs here and its writes wait at most `ACK_WAIT_S`."""

    def compose(retry_s: float) -> str:
        return digest_command(services, text=text, channel=channel, user=user, is_admin=is_admin, retry_s=retry_s)

    if services.side is None or services.store is None:
        ack(text=_quick(services, compose))
        return
    lock = threading.Lock()
    ready = threading.Event()
    state: dict[str, object] = {}

    def finish(answer: str) -> None:
        """The answer: in the ack when it is still to come, else through the response URL."""
        with lock:
            if "answer" in state:  # answered already (the work finished before a cancel)
                return
            late = state.get("acked", False)
            state["answer"] = answer
        ready.set()
        if late:
            try:
                respond(text=answer, response_type="ephemeral", replace_original=True)
            except Exception:
                log.exception("could not deliver a digest command's answer")

    def work() -> None:
        with lock:
            state["started"] = True
        try:
            answer = compose(services.settings.database_write_retry_s)
        except Exception:  # a bug: the user still gets an answer
            log.exception("/chimera digest failed")
            answer = ":warning: Something went wrong with that command (details are in the bot's log)."
        finish(answer)

    def cancelled(_message: str) -> None:
        """The bot is stopping: the user was told "I'll answer here", so answer."""
        with lock:
            started = bool(state.get("started"))
        finish(DIGEST_CUT_OFF if started else DIGEST_NOT_DONE)

    try:
        services.side.submit("digest", work, on_cancel=cancelled)
    except ChimeraError:  # the side pool is full or closing: answer here, within the ack's time
        ack(text=_quick(services, compose))
        return
    ready.wait(ACK_WAIT_S)
    with lock:
        answer = state.get("answer")
        state["acked"] = answer is None
    ack(text=str(answer) if answer is not None else BUSY_ACK)


def _quick(services: Services, compose: Callable[[float], str]) -> str:
    if services.store is None:
        return compose(0.0)
    with services.store.waiting_at_most(ACK_WAIT_S):
        return compose(0.0)


def _add(services: Services, rest: str, *, channel: str, user: str, now: datetime) -> str:
    assert services.store is not None
    quiet = bool(_QUIET.search(rest))
    spec = parse_digest_command(_QUIET.sub(" ", rest))
    # The same rules as an archive name: relative, no '..', no URLs; stored normalised.
    prefix = validate_name(spec.prefix, allow_empty=False)
    # The limit is checked by the database in the same transaction as the insert (LimitReached).
    subscription = services.store.subscriptions.add_subscription(
        channel=channel, schedule=spec.schedule, trigger=spec.trigger_fields(),
        timezone=spec.timezone, prefix=prefix, quiet_when_nothing_new=quiet, created_by=user or None,
        max_per_channel=MAX_PER_CHANNEL,
    )
    if services.scheduler is not None:
        try:
            services.scheduler.add(subscription)
        except Exception:
            log.exception("scheduling subscription %d failed", subscription.id)
            services.store.subscriptions.remove_subscription(subscription.id, channel=channel)
            return ":warning: I couldn't schedule that digest (details are in the bot's log). Please try again."
    quiet_note = " Nothing new → no message (`--quiet`)." if quiet else " Nothing new → one short line."
    return (f":white_check_mark: Digest *#{subscription.id}* set up: {_describe(subscription)}."
            f"{quiet_note}\nNext: {_next_times(spec, now)}")


def _list(services: Services, *, channel: str, now: datetime) -> str:
    assert services.store is not None
    subscriptions = services.store.subscriptions.list_subscriptions(channel)
    if not subscriptions:
        return ("No digests in this channel yet. Add one with e.g. "
                "`/chimera digest add weekdays 09:00 nightly Europe/Berlin`.")
    lines = ["*Digests in this channel*"]
    for sub in subscriptions:
        try:
            spec = parse_schedule(sub.schedule, prefix=sub.prefix, timezone=sub.timezone)
            upcoming = _next_times(spec, now)
        except ChimeraError:
            upcoming = "schedule unreadable; remove it and add it again"
        quiet = " · quiet" if sub.quiet_when_nothing_new else ""
        lines.append(f"• *#{sub.id}* {_describe(sub)}{quiet} — next: {upcoming}")
    return "\n".join(lines)


def _remove(services: Services, rest: str, *, channel: str, user: str, is_admin: IsAdmin | None) -> str:
    assert services.store is not None
    arg = rest.strip().lstrip("#")
    # ASCII only: str.isdigit() also accepts "²", which int() then refuses.
    if not (arg.isascii() and arg.isdigit()) or len(arg) > 12:
        return "Give the digest's number, e.g. `/chimera digest remove 3` (see `/chimera digest list`)."
    subscription_id = int(arg)
    subscription = services.store.subscriptions.get_subscription(subscription_id)
    if subscription is None or subscription.channel != channel or not subscription.active:
        return f"There is no digest #{subscription_id} in this channel (see `/chimera digest list`)."
    refusal = _may_not_remove(subscription, user=user, is_admin=is_admin)
    if refusal:
        return refusal
    if not services.store.subscriptions.remove_subscription(subscription_id, channel=channel):
        return f"There is no digest #{subscription_id} in this channel (see `/chimera digest list`)."
    if services.scheduler is not None:
        services.scheduler.remove(subscription_id)
    return f":wastebasket: Digest #{subscription_id} removed; it will not post again."


def _may_not_remove(subscription: Subscription, *, user: str, is_admin: IsAdmin | None) -> str:
    """Why ``user`` may not remove ``subscription`` ('' when they may): only its creator or a
    workspace admin/owner (asked of Slack only for someone else's digest)."""
    if user and subscription.created_by == user:
        return ""
    creator = (f"<@{subscription.created_by}>" if subscription.created_by and _USER_ID.match(subscription.created_by)
               else None)
    who = f"{creator} (who added it)" if creator else "whoever added it"
    if is_admin is not None and user:
        try:
            if is_admin(user):
                return ""
        except SlackCallFailed as err:
            log.warning("users.info for %s failed: %s", user, err.code)
            return (f":warning: I couldn't check with Slack whether you are a workspace admin ({err.code}). "
                    f"Only {who} or a workspace admin can remove digest #{subscription.id}; please try again.")
    return f":no_entry: Only {who} or a workspace admin can remove digest #{subscription.id}."


def _describe(sub: Subscription) -> str:
    return f"`{escape_mrkdwn(sub.schedule)}` ({escape_mrkdwn(sub.timezone)}) for `{escape_mrkdwn(sub.prefix)}`"


def _next_times(spec: DigestSpec, now: datetime) -> str:
    return ", ".join(describe_time(t, spec.timezone) for t in next_fire_times(spec, now, SHOWN_FIRES))


def describe_time(when: datetime, tz_name: str) -> str:
    """A fire time as people read it: ``Mon 31 Mar 2025 09:00 CEST (UTC+02:00)``."""
    local = when.astimezone(ZoneInfo(tz_name))
    offset = local.strftime("%z")
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"
