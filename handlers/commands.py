"""`/chimera` slash command and the analysis delivery it (and a mention) starts.

The listener only parses, queues and acks (well inside Slack's 3 s); the job then posts ONE parent
message, edits it with progress (throttled), replaces it with the summary blocks and uploads the
report and chart into its thread. Errors reach the user as a short ephemeral via ``notify``.
"""

from __future__ import annotations

import logging
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

import bot
from bot.render.blocks import fallback_text, summary_blocks
from bot.render.charts import throughput_ttft_png
from bot.errors import ChimeraError, UsageError
from bot.flows.services import Services
from bot.errors import SlackCallFailed
from bot.adapters.slack import SlackOps, Upload
from bot.flows.progress import Throttle
from bot.render.slack_text import escape_mrkdwn, escape_plain, truncate
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
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


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


# --- the analysis job ---------------------------------------------------------------------------


@dataclass
class AnalysisJob:
    """One analysis from request to thread. ``notify`` sends the requester an ephemeral message."""

    services: Services
    ops: SlackOps
    target: str
    use_llm: bool
    channel: str
    user: str
    notify: Callable[[str], None]
    parent_ts: str | None = None
    trigger: str = "slash"  # or "mention": how the run is recorded in the store
    run_id: int | None = None  # the stored run (None when the database was unavailable)
    # "running" -> "delivering" (the summary goes out) or "cancelled" (the pool cut it off at
    # shutdown). The worker keeps running after a cancel, so every edit of the parent checks the
    # state under this lock: a late progress edit can never overwrite the "stopped" notice.
    _state: str = field(default="running", init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def label(self) -> str:
        return f"`{escape_mrkdwn(self.target)}`"

    def _record(self, what: str, call: Callable[[Any], Any]) -> Any:
        """One write to the run store. A database problem is logged, never fatal: the report still
        goes out, only follow-up questions on it will not work."""
        store = self.services.store
        if store is None:
            return None
        try:
            return call(store)
        except (ChimeraError, ValueError):
            log.warning("could not record %s of the analysis of %r", what, self.target, exc_info=True)
            return None

    def _finish(self, status: str, *, error: str | None = None, result: Any = None) -> None:
        if self.run_id is None:
            return
        run_id, ingest = self.run_id, getattr(result, "ingest", None)
        facts = [f.to_json() if hasattr(f, "to_json") else f for f in getattr(result, "facts", None) or []]
        self._record(f"the end ({status})", lambda s: s.finish_run(
            run_id, status=status, error=error, facts=facts if result is not None else None,
            timings=getattr(result, "timings_s", None), summary=getattr(result, "data", None),
            report_md=getattr(result, "report_md", None),
            measurements=getattr(ingest, "measurements", None)))

    def _status(self, text: str) -> None:
        """Edit the parent message while the job is running; a failed edit is logged, never fatal
        (the next one may work)."""
        with self._lock:
            if self._state == "running":
                self._edit_parent(text)

    def _edit_parent(self, text: str) -> None:
        if self.parent_ts is None:
            return
        try:
            self.ops.update(channel=self.channel, ts=self.parent_ts, text=text)
        except SlackCallFailed as err:
            log.warning("could not update the parent message: %s", err.code)

    @property
    def cancelled(self) -> bool:
        with self._lock:
            return self._state == "cancelled"

    def _tell(self, text: str) -> None:
        try:
            self.notify(text)
        except Exception:  # the user is unreachable; the log is all we have
            log.exception("could not notify user %s", self.user)

    def run(self) -> None:
        who = f"<@{self.user}> asked for" if _USER_ID.match(self.user) else "Requested:"
        stored = self._record("the start", lambda s: s.create_run(
            archive=self.target, trigger=self.trigger, channel=self.channel, user=self.user or None))
        if stored is not None:
            self.run_id = stored.id
            self._record("the start", lambda s: s.start_run(stored.id))
        try:
            with self._lock:  # a cancel arriving now waits for the parent, then marks it stopped
                cancelled_early = self._state != "running"
                if not cancelled_early:
                    self.parent_ts = self.ops.post(
                        channel=self.channel, text=f":hourglass_flowing_sand: {who} an analysis of {self.label} — starting…"
                    )
        except SlackCallFailed as err:
            self._finish("failed", error=f"could not post in Slack: {err.code}")
            self._tell(str(err))
            return
        if cancelled_early:  # the pool stopped it before it began (the user has been told)
            self._finish("failed", error="stopped: the bot restarted")
            return
        if self.run_id is not None:
            run_id, parent_ts = self.run_id, self.parent_ts
            self._record("the thread", lambda s: s.set_run_thread(run_id, channel=self.channel, parent_ts=parent_ts))
        throttle = Throttle(interval_s=self.services.progress_interval_s, clock=self.services.clock)

        def progress(step: str) -> None:
            if throttle.ready():
                self._status(f":hourglass_flowing_sand: Analyzing {self.label} — {escape_mrkdwn(truncate(step, 200))}")

        try:
            result = self.services.run_analysis(
                self.target, settings=self.services.settings, use_llm=self.use_llm,
                allow_local_paths=False,  # names from Slack are untrusted: storage roots only
                progress=progress,
            )
        except ChimeraError as err:
            log.info("analysis of %r failed: %s", self.target, err)
            if self.cancelled:  # the user has been told already
                return
            self._finish("failed", error=str(err))
            self._status(f":x: Analysis of {self.label} failed: {escape_mrkdwn(str(err))}")
            # The message may quote the archive's contents (member names): escaped like any file text.
            self._tell(f"{escape_mrkdwn(str(err))} Check the name (it is looked up inside the configured "
                       "storage) and try again.")
            return
        except Exception:
            log.exception("analysis of %r crashed", self.target)
            if self.cancelled:
                return
            self._finish("failed", error="internal error (see the bot's log)")
            self._status(f":x: Analysis of {self.label} failed because of an internal error.")
            self._tell("Something went wrong while analyzing that archive (details are in the bot's log). "
                       "Please try again; if it happens again, tell whoever runs the bot.")
            return
        self._deliver(result)

    def _deliver(self, result: Any) -> None:
        with self._lock:
            if self._state != "running":  # cut off at shutdown: the parent says "stopped"
                log.info("analysis of %r finished after it was cancelled; not delivered", self.target)
                return
            self._state = "delivering"
        self._finish("done", result=result)  # before the summary: its thread is answerable at once
        data = result.data
        headline = data.get("headline") or {}
        narrative = getattr(result, "narrative", None)
        summary = getattr(narrative, "short_summary", "") or ""
        status, reason = getattr(narrative, "status", ""), getattr(narrative, "reason", "")
        note = f"Narrative {status}: {reason}" if reason and status != "ok" else ""
        files_total = (data.get("inventory") or {}).get("files_total")
        footer = f"Chimera Insight {bot.__version__}" + (f" · {files_total} files read" if files_total is not None else "") \
            + " · full report and chart in the thread"
        archive = str(getattr(result, "archive_name", "") or self.target)
        assert self.parent_ts is not None
        try:
            self.ops.update(channel=self.channel, ts=self.parent_ts,
                            text=fallback_text(archive_name=archive, headline=headline),
                            blocks=summary_blocks(archive_name=archive, headline=headline,
                                                  narrative=summary, note=note, footer=footer))
        except SlackCallFailed as err:
            self._tell(f"The analysis finished but I couldn't post the summary: {err}")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", archive).strip("-.")[:80] or "archive"
        uploads = [Upload(f"{stem}-report.md", result.report_md.encode("utf-8"), escape_plain(f"Report: {archive}"))]
        try:
            png = throughput_ttft_png(data.get("models") or [], title=archive)
        except Exception:  # a chart is a nice-to-have; the report must still go out
            log.exception("chart rendering failed for %r", archive)
            png = None
        if png:
            uploads.append(Upload(f"{stem}-chart.png", png, escape_plain(f"Throughput and TTFT per model: {archive}")))
        try:
            self.ops.upload(channel=self.channel, thread_ts=self.parent_ts, files=uploads)
        except SlackCallFailed as err:
            self._tell(f"The summary is posted, but I couldn't attach the report file: {err} "
                       "Run the command again to retry.")

    def cancel(self, message: str) -> None:
        """Called by the pool at shutdown (from another thread than the job's): mark the parent (if
        any) and tell the requester. A job already delivering its summary is left to finish."""
        with self._lock:
            if self._state != "running":
                return
            self._state = "cancelled"
            self._edit_parent(f":warning: Analysis of {self.label} stopped: the bot is restarting.")
        self._finish("failed", error="stopped: the bot restarted")
        self._tell(message)


def start_analysis(services: Services, client: WebClient, *, target: str, use_llm: bool, channel: str,
                   user: str, notify: Callable[[str], None], trigger: str = "slash") -> str:
    """Queue an analysis; returns the confirmation to show the requester (raises QueueFull/PoolClosed)."""
    job = AnalysisJob(services=services, ops=SlackOps(client), target=target, use_llm=use_llm,
                      channel=channel, user=user, notify=notify, trigger=trigger)
    position = services.jobs.submit(f"{target} ({user})", job.run, on_cancel=job.cancel)
    mode = " (data only, no LLM)" if not use_llm else ""
    if position == 0:
        return f":hourglass_flowing_sand: Analyzing {job.label}{mode} — I'll post the summary in this channel."
    return (f":inbox_tray: Queued {job.label}{mode}: position {position} in line. "
            "I'll post in this channel when it starts.")


# --- listeners ----------------------------------------------------------------------------------


def status_text(services: Services) -> str:
    pool = services.jobs.status()
    return "\n".join([
        f"*Chimera Insight* {bot.__version__}",
        f"• Jobs: {pool.running}/{pool.workers} running, {pool.queued} queued (max {pool.max_queue})",
        f"• {services.health()}",
    ])


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

        def notify(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=False)

        try:
            confirmation = start_analysis(services, client, target=parsed.target, use_llm=parsed.use_llm,
                                          channel=command["channel_id"], user=command.get("user_id", ""),
                                          notify=notify)
        except ChimeraError as err:  # QueueFull / PoolClosed
            ack(text=f":warning: {err}")
            return
        ack(text=confirmation)

    return chimera_command
