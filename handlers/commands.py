"""`/chimera` slash command: parse, ack, hand to a flow.

The listener only parses, queues and acks (well inside Slack's 3 s); the analysis job
(`bot.flows.analysis_job`) does the rest, on whichever replica claims it. The analysis is in the
database before the ack (`bot.flows.intake`); Slack never redelivers a slash command, so when the
database stays unreachable through the retry budget the ack itself tells the user. Errors reach the
user as a short ephemeral message.
"""

from __future__ import annotations

import logging
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

import bot
from bot.core.text import truncate
from bot.errors import ChimeraError, StoreError, UsageError
from bot.flows.intake import DATABASE_DOWN, queue_analysis, with_retries
from bot.flows.services import Services
from bot.render.slack_text import escape_mrkdwn
from handlers.digest import digest_command, is_digest_command

log = logging.getLogger(__name__)

USAGE = (
    "*Chimera Insight* analyzes LLM benchmark archives.\n"
    "• `/chimera analyze <archive name> [--no-llm]` — fetch the archive from the configured storage, "
    "post a summary here and the full report in its thread (`--no-llm`: data-only summary)\n"
    "• `/chimera digest add | list | remove` — scheduled digests of new archives in this channel "
    "(`/chimera digest help`)\n"
    "• `/chimera status` — queue, Ollama health and version\n"
    "• `/chimera help` — this message"
)
MAX_TARGET_CHARS = 300


@dataclass(frozen=True)
class Command:
    action: str  # "analyze" | "help" | "status"
    target: str = ""
    use_llm: bool = True


def parse_command(text: str) -> Command:
    """Parse ``/chimera`` text (pure). Raises `UsageError` with the usage in its message."""
    try:
        words = shlex.split(text or "")
    except ValueError as err:  # unbalanced quotes
        raise UsageError(f"I couldn't read that command ({err}).\n\n{USAGE}") from err
    if not words or words[0].lower() in {"help", "-h", "--help"}:
        return Command("help")
    action, rest = words[0].lower(), words[1:]
    if action == "status" and not rest:
        return Command("status")
    if action == "analyze":
        flags = [w for w in rest if w.startswith("--")]
        names = [w for w in rest if not w.startswith("--")]
        unknown = [f for f in flags if f != "--no-llm"]
        if unknown or len(names) != 1:
            problem = f"unknown option `{escape_mrkdwn(unknown[0])}`" if unknown else "give exactly one archive name"
            raise UsageError(f"Usage problem: {problem}.\n\n{USAGE}")
        target = names[0]
        if len(target) > MAX_TARGET_CHARS or any(ord(c) < 32 for c in target):
            raise UsageError("That archive name is too long or contains control characters.")
        return Command("analyze", target=target, use_llm="--no-llm" not in flags)
    raise UsageError(f"I don't know `{escape_mrkdwn(truncate(words[0], 40))}`.\n\n{USAGE}")


# --- listeners ----------------------------------------------------------------------------------


def status_text(services: Services) -> str:
    """The queue (every replica's), this replica's workers, Ollama's health, the version."""
    local = services.runner.status()
    lines = [f"*Chimera Insight* {bot.__version__}"]
    try:
        counts = services.store.tasks.counts("analysis")
        replicas = len(services.store.replicas.live(within_s=services.settings.lease_s)) or 1
        plural = "s" if replicas != 1 else ""
        lines.append(f"• Jobs: {counts['running']}/{services.runner.fleet_workers()} running, "
                     f"{counts['queued']} queued (max {services.settings.max_queue}) on {replicas} replica{plural}")
    except StoreError:
        lines.append(":warning: The database is unreachable: queued work waits until it is back.")
    busy, workers = local.busy.get("analysis", 0), local.workers.get("analysis", 0)
    lines.append(f"• This replica: {busy}/{workers} analyses running")
    lines.append(f"• {services.health()}")
    return "\n".join(lines)


INTERNAL_ERROR_REPLY = ("Something went wrong with that command (details are in the bot's log). "
                        "Please try again; if it happens again, tell whoever runs the bot.")


def make_chimera_command(services: Services) -> Callable[..., None]:
    def chimera_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        # A bug below must still answer the command: Slack shows the user an opaque failure when
        # no ack arrives, and Bolt would only log the traceback.
        try:
            _chimera_command(ack, command, respond, client)
        except Exception:
            log.exception("/chimera %r failed", truncate(command.get("text", ""), 100))
            if ack.response is None:
                ack(text=INTERNAL_ERROR_REPLY)
            else:
                try:
                    respond(text=INTERNAL_ERROR_REPLY, response_type="ephemeral", replace_original=False)
                except Exception:
                    log.exception("could not tell the user that /chimera failed")

    def _chimera_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        if is_digest_command(command.get("text", "")):  # quick database work: answered in the ack
            ack(text=digest_command(services, text=command.get("text", ""),
                                    channel=command.get("channel_id", ""), user=command.get("user_id", "")))
            return
        try:
            parsed = parse_command(command.get("text", ""))
        except UsageError as err:
            ack(text=str(err))
            return
        if parsed.action == "help":
            ack(text=USAGE)
            return
        if parsed.action == "status":
            ack(text="Checking…")
            respond(text=status_text(services), response_type="ephemeral", replace_original=True)
            return

        # Slack never redelivers a slash command: each invocation is new work.
        key = f"slash:{uuid.uuid4().hex}"
        try:
            confirmation = with_retries(lambda: queue_analysis(
                services, target=parsed.target, use_llm=parsed.use_llm, channel=command["channel_id"],
                user=command.get("user_id", ""), trigger="slash", key=key,
                response_url=command.get("response_url")), budget_s=services.settings.intake_retry_s)
        except StoreError:
            log.warning("/chimera analyze not queued: the database is unreachable")
            ack(text=DATABASE_DOWN)
            return
        except ChimeraError as err:  # QueueFull
            ack(text=f":warning: {err}")
            return
        ack(text=confirmation or "Already queued.")

    return chimera_command
