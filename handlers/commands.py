"""`/chimera` slash command: parse, ack, hand to a flow.

The listener only parses, queues and acks (well inside Slack's 3 s), then hands the analysis'
parent message to the side pool, which posts it at once (`bot.flows.intake.announce`); the analysis job
(`bot.flows.analysis_job`) or the comparison (`bot.flows.compare`) does the rest, on whichever
replica claims it. The work is in the database before the ack (`bot.flows.intake`); Slack never
redelivers a slash command, so when the database stays unreachable through the retry budget the
ack itself tells the user. Errors reach the
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
from bot.adapters.slack import SlackOps
from bot.core.comparable import parse_selector
from bot.core.text import truncate
from bot.errors import ChimeraError, DatabaseBusy, StoreError, UsageError
from bot.flows.announce import Accepted
from bot.flows.compare import Comparison
from bot.flows.intake import announce, database_trouble, queue_analysis, queue_compare
from bot.flows.retry import with_retries
from bot.flows.services import Services
from bot.render.slack_text import escape_mrkdwn
from handlers.digest import answer_digest, is_digest_command

log = logging.getLogger(__name__)

# Every subcommand; the usage below and manifest.yml's usage_hint name each (a test checks).
SUBCOMMANDS = ("analyze", "compare", "digest", "status", "help")
USAGE = (
    "*Chimera Insight* analyzes LLM benchmark archives.\n"
    "• `/chimera analyze <archive name> [--no-llm]` — fetch the archive from the configured storage, "
    "post a summary here and the full report in its thread (`--no-llm`: data-only summary)\n"
    "• `/chimera compare <archive A> <archive B>` — what changed from A to B (regressions with their "
    "uncertainty, failures, models and configurations gone or new), posted like a digest; "
    "`/chimera compare <archive> <k=v> <k=v>` compares two configurations of one archive\n"
    "• `/chimera digest add | list | remove` — scheduled digests of new archives in this channel "
    "(`/chimera digest help`)\n"
    "• `/chimera status` — queue, Ollama health and version\n"
    "• `/chimera help` — this message"
)
MAX_TARGET_CHARS = 300


@dataclass(frozen=True)
class Command:
    action: str  # "analyze" | "compare" | "help" | "status"
    target: str = ""
    use_llm: bool = True
    comparison: Comparison | None = None  # compare


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
        return Command("analyze", target=_checked_name(names[0]), use_llm="--no-llm" not in flags)
    if action == "compare":
        return Command("compare", comparison=_comparison(rest))
    raise UsageError(f"I don't know `{escape_mrkdwn(truncate(words[0], 40))}`.\n\n{USAGE}")


def _checked_name(name: str) -> str:
    if len(name) > MAX_TARGET_CHARS or any(ord(c) < 32 for c in name):
        raise UsageError("That archive name is too long or contains control characters.")
    return name


def _comparison(words: list[str]) -> Comparison:
    """``A B`` (two archives) or ``A k=v k=v`` (two configurations of one archive)."""
    flags = [w for w in words if w.startswith("--")]
    selectors = [w for w in words if "=" in w and not w.startswith("--")]
    names = [w for w in words if "=" not in w and not w.startswith("--")]
    if flags:
        raise UsageError(f"Usage problem: unknown option `{escape_mrkdwn(flags[0])}`.\n\n{USAGE}")
    if len(names) == 2 and not selectors:
        return Comparison(_checked_name(names[0]), _checked_name(names[1]))
    if len(names) == 1 and len(selectors) == 2:
        for selector in selectors:
            try:
                parse_selector(selector)
            except ValueError as err:
                raise UsageError(f"Usage problem: {escape_mrkdwn(str(err))}.\n\n{USAGE}") from err
        name = _checked_name(names[0])
        return Comparison(name, name, (selectors[0], selectors[1]))
    raise UsageError("Usage problem: give two archive names, or one archive and two configurations "
                     f"(`num_ctx=2048 num_ctx=4096`).\n\n{USAGE}")


# --- listeners ----------------------------------------------------------------------------------


def status_text(services: Services, *, deadline: float | None = None) -> str:
    """The queue (every replica's), this replica's workers, Ollama's health, the version. The
    Ollama line waits for `Services.probe` until ``deadline`` (`HealthProbe.deadline`); without a
    probe it calls the check directly (unit tests). Runs off the listener threads (`send_status`):
    the queue is read from the database."""
    probe = services.probe
    lines = [f"*Chimera Insight* {bot.__version__}"]
    try:
        counts = services.store.tasks.counts(services.runner.kinds_of("analysis"))
        replicas = len(services.store.replicas.live(within_s=services.settings.lease_s)) or 1
        plural = "s" if replicas != 1 else ""
        lines.append(f"• Jobs: {counts['running']}/{services.runner.fleet_workers()} running, "
                     f"{counts['queued']} queued (max {services.settings.max_queue}) on {replicas} replica{plural}")
    except StoreError:
        lines.append(":warning: The database is unreachable: queued work waits until it is back.")
    lines.append(f"• This replica: {_local_line(services)}")
    health = probe.line(deadline=probe.deadline() if deadline is None else deadline) if probe else services.health()
    lines.append(f"• {health}")
    return "\n".join(lines)


def _local_line(services: Services) -> str:
    local = services.runner.status()
    busy, workers = local.busy.get("analysis", 0), local.workers.get("analysis", 0)
    return f"{busy}/{workers} analyses running"


def send_status(services: Services, reply: Callable[[str], None]) -> bool:
    """Compose the status off the listener threads (`Services.side`) and ``reply`` with it; False
    when that pool is full (or absent), so the caller answers without the Ollama check."""
    if services.side is None:
        return False
    deadline = services.probe.deadline() if services.probe is not None else None
    try:
        services.side.submit("status", lambda: reply(status_text(services, deadline=deadline)),
                             on_cancel=lambda _message: None)
    except ChimeraError:  # QueueFull / PoolClosed
        return False
    return True


def status_without_check(services: Services) -> str:
    """The side pool is full: answered in the ack, from this replica's memory only (no database,
    no Ollama)."""
    local = services.runner.status()
    busy, workers = local.busy.get("analysis", 0), local.workers.get("analysis", 0)
    return (f"*Chimera Insight* {bot.__version__}\n• Jobs: {busy}/{workers} running on this replica "
            f"(max queue {services.settings.max_queue})\n• Ollama: not checked (too many requests "
            "right now; ask again in a minute)")


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
            # users.info (only for removing someone else's digest) is one try with a short timeout.
            answer_digest(services, text=command.get("text", ""), channel=command.get("channel_id", ""),
                          user=command.get("user_id", ""), is_admin=SlackOps(client).is_workspace_admin,
                          ack=ack, respond=respond)
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
            _status(ack, respond)
        else:
            _queue(parsed, command, ack)

    def _status(ack: Ack, respond: Respond) -> None:
        # The Ollama check may stall: it never runs on this listener thread.
        def reply(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=True)

        if services.side is None:
            ack(text=status_text(services))
        elif send_status(services, reply):
            ack(text="Checking…")
        else:
            ack(text=status_without_check(services))

    def _queue(parsed: Command, command: dict[str, Any], ack: Ack) -> None:
        """Queue an analysis or a comparison durably, then ack with its place in line."""
        # Slack never redelivers a slash command: each invocation is new work.
        key = f"slash:{uuid.uuid4().hex}"
        accepted: Accepted | None = None
        try:
            comparison = parsed.comparison
            if comparison is not None:
                confirmation = with_retries(lambda: queue_compare(
                    services, comparison=comparison, channel=command["channel_id"],
                    user=command.get("user_id", ""), key=key, response_url=command.get("response_url")),
                    budget_s=services.settings.intake_retry_s, store=services.store)
            else:
                accepted = with_retries(lambda: queue_analysis(
                    services, target=parsed.target, use_llm=parsed.use_llm, channel=command["channel_id"],
                    user=command.get("user_id", ""), trigger="slash", key=key,
                    response_url=command.get("response_url")), budget_s=services.settings.intake_retry_s,
                    store=services.store)
                confirmation = accepted.confirmation if accepted is not None else None
        except StoreError as err:
            log.warning("/chimera %s not queued: the database is %s", parsed.action,
                        "busy" if isinstance(err, DatabaseBusy) else "unreachable")
            ack(text=database_trouble(err))
            return
        except ChimeraError as err:  # QueueFull
            ack(text=f":warning: {err}")
            return
        ack(text=confirmation or "Already queued.")
        if accepted is not None:  # after the ack, never before: posting it must not delay the ack
            announce(services, accepted)

    return chimera_command
