"""One analysis from request to thread: the job a slash command or a mention starts.

The job posts ONE parent message, edits it with progress (throttled), replaces it with the summary
blocks and uploads the report and chart into its thread (`bot.flows.deliver`). Errors reach the
requester through ``notify`` (an ephemeral message); the run is recorded in the store so its thread
can be asked about.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bot
from bot.core.text import truncate
from bot.errors import ChimeraError, SlackCallFailed
from bot.flows.deliver import Delivery, deliver, report_uploads
from bot.flows.pipeline import RunResult
from bot.flows.ports import RunStore, SlackPoster
from bot.flows.progress import Throttle
from bot.flows.services import Services
from bot.render.blocks import fallback_text, summary_blocks
from bot.render.narrative import narrative_note, slack_summary
from bot.render.slack_text import escape_mrkdwn

log = logging.getLogger(__name__)

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass
class AnalysisJob:
    """One analysis from request to thread. ``notify`` sends the requester an ephemeral message."""

    services: Services
    poster: SlackPoster
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

    def _record(self, what: str, call: Callable[[RunStore], Any]) -> Any:
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

    def _finish(self, status: str, *, error: str | None = None, result: RunResult | None = None) -> None:
        if self.run_id is None:
            return
        run_id = self.run_id
        if result is None:
            self._record(f"the end ({status})", lambda s: s.runs.finish_run(run_id, status=status, error=error))
            return
        self._record(f"the end ({status})", lambda s: s.runs.finish_run(
            run_id, status=status, error=error, facts=[f.to_json() for f in result.facts],
            timings=result.timings_s, summary=result.data, report_md=result.report_md,
            measurements=result.ingest.measurements))

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
            self.poster.update(channel=self.channel, ts=self.parent_ts, text=text)
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
        stored = self._record("the start", lambda s: s.runs.create_run(
            archive=self.target, trigger=self.trigger, channel=self.channel, user=self.user or None))
        if stored is not None:
            self.run_id = stored.id
            self._record("the start", lambda s: s.runs.start_run(stored.id))
        try:
            with self._lock:  # a cancel arriving now waits for the parent, then marks it stopped
                cancelled_early = self._state != "running"
                if not cancelled_early:
                    self.parent_ts = self.poster.post(
                        channel=self.channel,
                        text=f":hourglass_flowing_sand: {who} an analysis of {self.label} — starting…")
        except SlackCallFailed as err:
            self._finish("failed", error=f"could not post in Slack: {err.code}")
            self._tell(str(err))
            return
        if cancelled_early:  # the pool stopped it before it began (the user has been told)
            self._finish("failed", error="stopped: the bot restarted")
            return
        if self.run_id is not None and self.parent_ts is not None:
            run_id, parent_ts = self.run_id, self.parent_ts
            self._record("the thread",
                         lambda s: s.runs.set_run_thread(run_id, channel=self.channel, parent_ts=parent_ts))
        throttle = Throttle(interval_s=self.services.progress_interval_s, clock=self.services.clock)

        def progress(step: str) -> None:
            if throttle.ready():
                self._status(f":hourglass_flowing_sand: Analyzing {self.label} — {escape_mrkdwn(truncate(step, 200))}")

        try:
            result = self.services.pipeline.run(
                self.target, use_llm=self.use_llm,
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

    def _deliver(self, result: RunResult) -> None:
        with self._lock:
            if self._state != "running":  # cut off at shutdown: the parent says "stopped"
                log.info("analysis of %r finished after it was cancelled; not delivered", self.target)
                return
            self._state = "delivering"
        self._finish("done", result=result)  # before the summary: its thread is answerable at once
        narrative = result.narrative
        note = narrative_note(narrative)
        footer = (f"Chimera Insight {bot.__version__} · {result.files_total} files read"
                  " · full report and chart in the thread")
        archive = result.archive_name or self.target
        headline = result.headline
        assert self.parent_ts is not None
        deliver(
            self.poster,
            Delivery(channel=self.channel, replace_ts=self.parent_ts,
                     text=fallback_text(archive_name=archive, headline=headline),
                     blocks=summary_blocks(archive_name=archive, headline=headline,
                                           narrative=slack_summary(narrative, result.summary, result.facts), note=note,
                                           footer=footer),
                     uploads=report_uploads(result),
                     final_text=(f":white_check_mark: Analysis of {self.label} finished, but Slack would not "
                                 "show its summary here. The full report is in this message's thread.")),
            on_message_failure=lambda err: self._tell(
                f"The analysis finished but I couldn't post the summary: {err}"),
            sleep=self.services.sleep,
            on_upload_failure=lambda err, thread_ts: self._tell(
                f"The summary is posted, but I couldn't attach the report file: {err} "
                "Run the command again to retry."),
        )

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


def start_analysis(services: Services, poster: SlackPoster, *, target: str, use_llm: bool, channel: str,
                   user: str, notify: Callable[[str], None], trigger: str = "slash") -> str:
    """Queue an analysis; returns the confirmation to show the requester (raises QueueFull/PoolClosed)."""
    job = AnalysisJob(services=services, poster=poster, target=target, use_llm=use_llm,
                      channel=channel, user=user, notify=notify, trigger=trigger)
    position = services.jobs.submit(f"{target} ({user})", job.run, on_cancel=job.cancel)
    mode = " (data only, no LLM)" if not use_llm else ""
    if position == 0:
        return f":hourglass_flowing_sand: Analyzing {job.label}{mode} — I'll post the summary in this channel."
    return (f":inbox_tray: Queued {job.label}{mode}: position {position} in line. "
            "I'll post in this channel when it starts.")
