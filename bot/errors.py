"""Every exception the project raises on purpose, in one place.

Outside errors (httpx, slack_sdk, SQLAlchemy, tarfile, …) are converted to these once, at the edge
(`bot.adapters`). `str(err)` is always a short message fit to show a user: no secret, no traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.types import LLMCallMetrics


class ChimeraError(Exception):
    """Base class. `str(err)` is a short message fit to show a user (no secrets, no traceback)."""


# --- settings -----------------------------------------------------------------------------------


class ConfigError(ChimeraError):
    """A setting has a value the bot cannot use; the message is one line naming it."""


# --- archives -----------------------------------------------------------------------------------


class ArchiveError(ChimeraError):
    """The archive cannot be resolved, fetched or safely extracted."""


class ArchiveNotFound(ArchiveError):
    """No archive by that name inside the storage roots."""


class UnsafeArchive(ArchiveError):
    """The archive holds a member we refuse to extract (traversal, link out, device, too large)."""


# --- the language model -------------------------------------------------------------------------


class LLMError(ChimeraError):
    """The language model could not produce a usable answer."""


class LLMCallFailed(LLMError):
    """A model call failed; ``str(err)`` is the one-line reason, ``metrics`` what was measured."""

    def __init__(self, reason: str, *, kind: str, metrics: LLMCallMetrics | None = None) -> None:
        super().__init__(reason)
        self.kind = kind  # unreachable | not_found | timeout | server_error | broken_stream | http
        # | context_overflow (HTTP 400: the prompt is longer than num_ctx)
        self.metrics = metrics


class AnswerDoesNotFit(LLMError):
    """Not even the question and the computed facts fit ``num_ctx`` with the answer reserve."""


# --- Slack --------------------------------------------------------------------------------------


class SlackDeliveryError(ChimeraError):
    """Slack refused or failed a call we needed."""


_SLACK_HINTS: dict[str, str] = {
    "not_in_channel": "I'm not a member of this channel. Invite me with `/invite @Chimera Insight`, "
    "then run the command again.",
    "channel_not_found": "I can't post in this conversation (a private channel or a DM I'm not part "
    "of). Invite me to the channel, or run the command in a channel I'm in or in a DM with me.",
    "is_archived": "This channel is archived, so I can't post in it. Run the command in another channel.",
    "ratelimited": "Slack is rate-limiting me right now. Please try again in a minute.",
    "msg_too_long": "The message was too long for Slack. The full report is in the thread file.",
    "restricted_action": "A workspace setting stops me from posting here. Ask an admin, or use "
    "another channel.",
}


class SlackCallFailed(SlackDeliveryError):
    """A Slack Web API call failed. ``code`` is Slack's error code (or the client failure kind)."""

    def __init__(self, method: str, code: str) -> None:
        self.method = method
        self.code = code
        hint = _SLACK_HINTS.get(
            code,
            f"Slack refused my `{method}` call ({code}). Please try again; if it keeps failing, "
            "ask whoever runs the bot to check its log.",
        )
        super().__init__(hint)


class SlackConfigError(ChimeraError):
    """The Slack settings are incomplete for the chosen mode."""


class SlackStartupError(ChimeraError):
    """Slack refused the bot token at start-up (auth.test), or its API could not be reached."""


# --- commands and jobs --------------------------------------------------------------------------


class UsageError(ChimeraError):
    """The command text could not be understood."""


class LimitReached(ChimeraError):
    """A per-channel limit (digests) would be exceeded."""


class NothingToCompare(ChimeraError):
    """A comparison's side holds no measurements (e.g. a configuration that selects no rows)."""


class ScheduleError(ChimeraError):
    """The digest schedule, prefix or timezone the user gave is not usable."""

    def __init__(self, problem: str, *, usage: str = "") -> None:
        super().__init__(f"{problem} {usage}".strip())
        self.problem = problem


class QueueFull(ChimeraError):
    """Too many jobs waiting."""


class PoolClosed(ChimeraError):
    """The bot is shutting down."""


# --- the bot's database -------------------------------------------------------------------------


class StoreError(ChimeraError):
    """The bot's database failed or refused an operation (details are in the log)."""


class DatabaseBusy(StoreError):
    """Another writer held the database's lock longer than the operation could wait: the database
    is up, and a moment later it works (unlike an unreachable one)."""


class DatabaseConfigError(ChimeraError):
    """``DATABASE_URL`` cannot work as given (not a URL, unknown kind, driver not installed):
    waiting will not help, so start-up stops with this one line."""


class RecordConflict(StoreError):
    """A unique key (run key, event id, digest key) is already taken by another writer."""


class UnknownRecord(StoreError, LookupError):
    """The run, subscription or digest named by id does not exist."""
