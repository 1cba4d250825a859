"""`/chimera` slash command: parse, ack, hand to a flow.

The listener only parses, queues and acks (well inside Slack's 3 s); the analysis job
(`bot.flows.analysis_job`) or the comparison (`bot.flows.compare`) does the rest. Errors reach the
user as a short ephemeral message.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

import bot
from bot.adapters.slack import SlackOps
from bot.core.comparable import parse_selector
from bot.core.text import truncate
from bot.errors import ChimeraError, UsageError
from bot.flows.analysis_job import start_analysis
from bot.flows.compare import Comparison, start_compare
from bot.flows.services import Services
from bot.render.slack_text import escape_mrkdwn
from handlers.digest import digest_command, is_digest_command

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
    """Queue, Ollama and version. The Ollama line waits for `Services.probe` until ``deadline``
    (`HealthProbe.deadline`); without a probe it calls the check directly (unit tests)."""
    pool = services.jobs.status()
    probe = services.probe
    health = probe.line(deadline=probe.deadline() if deadline is None else deadline) if probe else services.health()
    return "\n".join([
        f"*Chimera Insight* {bot.__version__}",
        f"• Jobs: {pool.running}/{pool.workers} running, {pool.queued} queued (max {pool.max_queue})",
        f"• {health}",
    ])


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
    pool = services.jobs.status()
    return (f"*Chimera Insight* {bot.__version__}\n• Jobs: {pool.running}/{pool.workers} running, "
            f"{pool.queued} queued (max {pool.max_queue})\n• Ollama: not checked (too many requests "
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
            ack(text=digest_command(services, text=command.get("text", ""),
                                    channel=command.get("channel_id", ""), user=command.get("user_id", ""),
                                    is_admin=SlackOps(client).is_workspace_admin))
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
            # The Ollama check may stall: it never runs on this listener thread.
            def reply(text: str) -> None:
                respond(text=text, response_type="ephemeral", replace_original=True)

            if services.side is None:
                ack(text=status_text(services))
            elif send_status(services, reply):
                ack(text="Checking…")
            else:
                ack(text=status_without_check(services))
            return

        def notify(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=False)

        try:
            if parsed.comparison is not None:
                ack(text=start_compare(services, SlackOps(client), comparison=parsed.comparison,
                                       channel=command["channel_id"], user=command.get("user_id", ""),
                                       notify=notify))
                return
            confirmation = start_analysis(services, SlackOps(client), target=parsed.target, use_llm=parsed.use_llm,
                                          channel=command["channel_id"], user=command.get("user_id", ""),
                                          notify=notify)
        except ChimeraError as err:  # QueueFull / PoolClosed
            ack(text=f":warning: {err}")
            return
        ack(text=confirmation)

    return chimera_command
