"""One analysis from request to thread: the task a slash command or a mention queues.

The job shows itself in ONE parent message — the one posted right after the ack ("queued, position
3 in line" / "starting…", `bot.flows.announce`), or, when that post failed, one it posts itself —,
edits it with progress (throttled), replaces it with the summary blocks and uploads the report and
chart into its thread (`bot.flows.deliver`). Errors reach the
requester through an ephemeral message; the run is recorded in the store so its thread can be
asked about.

It runs as a task of the durable queue (`bot.flows.tasks`): when the replica running it dies,
another replica resumes it in the same parent message; when it cannot be redone, `give_up` edits
that message to say it was interrupted and tells the requester to run it again; when this replica
stops, `interrupt` says it will continue and the task goes back to the queue.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bot
from bot.core.limits import left_out
from bot.core.records import Task
from bot.core.text import truncate
from bot.errors import ChimeraError, SlackCallFailed
from bot.flows.announce import POSITION_EDIT_SETTLE_S
from bot.flows.deliver import Delivery, deliver, report_uploads
from bot.flows.pipeline import RunResult
from bot.flows.ports import RunStore, SlackPoster
from bot.flows.progress import Throttle
from bot.flows.retry import with_retries
from bot.flows.services import Services
from bot.flows.tasks import Lease, RunningJobs, message_of
from bot.render.blocks import fallback_text, summary_blocks
from bot.render.narrative import narrative_note, slack_summary
from bot.render.slack_text import escape_mrkdwn

log = logging.getLogger(__name__)

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def label(target: str) -> str:
    return f"`{escape_mrkdwn(target)}`"


def tell_requester(poster: SlackPoster, *, channel: str, user: str, response_url: str | None, text: str) -> None:
    """An ephemeral message to whoever asked: through the slash command's response_url while it
    works, else chat.postEphemeral; an unreachable user is logged."""
    if response_url:
        try:
            poster.respond(response_url=response_url, text=text)
            return
        except SlackCallFailed as err:
            log.info("response_url failed (%s); sending an ephemeral message instead", err.code)
    if not user:
        return
    try:
        poster.ephemeral(channel=channel, user=user, text=text)
    except SlackCallFailed as err:
        log.warning("could not tell user %s: %s", user, err.code)


def requested_by(user: str) -> str:
    return f"<@{user}> asked for" if _USER_ID.match(user) else "Requested:"


def parent_text(target: str, *, user: str, position: int = 0) -> str:
    """The parent message before the analysis shows progress: its place in line, or starting."""
    if position > 0:
        return (f":inbox_tray: {requested_by(user)} an analysis of {label(target)} — queued, position {position} "
                "in line.")
    return f":hourglass_flowing_sand: {requested_by(user)} an analysis of {label(target)} — starting…"


def interrupted_text(target: str, reason: str) -> str:
    return (f":warning: The analysis of {label(target)} was interrupted ({reason}), so it did not finish. "
            f"Run `/chimera analyze {escape_mrkdwn(target)}` again.")


@dataclass
class AnalysisJob:
    """One analysis (one task) from parent message to thread."""

    services: Services
    poster: SlackPoster
    lease: Lease
    target: str
    use_llm: bool
    channel: str
    user: str
    response_url: str | None = None
    run_id: int | None = None
    parent_ts: str | None = None
    # Its message showed a place in line: no final edit before this (services.clock), so a position
    # edit that raced the claim lands first (bot.flows.announce.POSITION_EDIT_SETTLE_S).
    settle_at: float | None = field(default=None, init=False)

    @classmethod
    def from_lease(cls, services: Services, lease: Lease) -> AnalysisJob:
        p = lease.task.payload
        return cls(services=services, poster=services.poster, lease=lease, target=str(p["target"]),
                   use_llm=bool(p.get("use_llm", True)), channel=str(p["channel"]), user=str(p.get("user") or ""),
                   response_url=p.get("response_url"), run_id=lease.task.run_id, parent_ts=lease.task.message_ts)

    def _recover_parent(self) -> None:
        """The message the task already shows itself in: the one posted at the ack, or, on a
        take-over, the one a predecessor posted (found in Slack by the task's key when it was never
        recorded); and make sure the task and the run know it (a predecessor may have died before
        recording it)."""
        task = self.lease.task
        if self.parent_ts is None and (self.lease.resumed or task.ack_ts is not None or task.ack_until is not None):
            self.parent_ts = message_of(task, self.poster, channel=self.channel)
        if self.parent_ts is not None:
            self._remember_parent()

    @property
    def label(self) -> str:
        return label(self.target)

    def _record(self, what: str, call: Callable[[RunStore], Any]) -> Any:
        """One write to the run store, retried with backoff for DATABASE_WRITE_RETRY_S while the
        database is busy (another process holds its write lock) or unreachable: the record is what
        the thread's questions are answered from. When it still fails it is logged, never fatal:
        the report still goes out, only follow-up questions on it will not work."""
        store = self.services.store
        try:
            return with_retries(lambda: call(store), budget_s=self.services.settings.database_write_retry_s)
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
        # the whole tidy frame, identifiers decoded: made inside the recorded call (a ValueError is logged
        # as any failed save is, never fatal), once for all its retries
        measurements = functools.cache(result.ingest.stored_measurements)
        self._record(f"the end ({status})", lambda s: s.runs.finish_run(
            run_id, status=status, error=error, facts=[f.to_json() for f in result.facts],
            timings=result.timings_s, summary=result.data, report_md=result.report_md,
            measurements=measurements()))

    def _status(self, text: str) -> None:
        """Edit the parent while the job is worked on here; a failed edit is logged, never fatal."""
        self.lease.while_working(lambda: self._edit_parent(text))

    def _edit_parent(self, text: str) -> None:
        if self.parent_ts is None:
            return
        try:
            self.poster.update(channel=self.channel, ts=self.parent_ts, text=text)
        except SlackCallFailed as err:
            log.warning("could not update the parent message: %s", err.code)

    def _settle(self) -> None:
        """Before the last edit of a message that showed a place in line: wait out any position
        edit made on another replica just before this worker claimed the task."""
        if self.settle_at is None:
            return
        wait, self.settle_at = self.settle_at - self.services.clock(), None
        if wait > 0:
            self.services.sleep(wait)

    def _tell(self, text: str) -> None:
        tell_requester(self.poster, channel=self.channel, user=self.user, response_url=self.response_url, text=text)

    def run(self) -> dict[str, Any]:
        self._begin()
        throttle = Throttle(interval_s=self.services.progress_interval_s, clock=self.services.clock)
        try:
            if not self._show_started(throttle):
                return {"result": "handed back before it started"}
        except SlackCallFailed as err:
            self._finish("failed", error=f"could not post in Slack: {err.code}")
            self._tell(str(err))
            return {"result": "failed", "error": err.code}

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
            # The message may quote the archive's contents (member names): escaped like any file text.
            return self._report_failure(
                str(err), parent=f"failed: {escape_mrkdwn(str(err))}",
                tell=f"{escape_mrkdwn(str(err))} Check the name (it is looked up inside the configured "
                     "storage) and try again.")
        except Exception:
            log.exception("analysis of %r crashed", self.target)
            return self._report_failure(
                "internal error (see the bot's log)", result_error="internal error",
                parent="failed because of an internal error.",
                tell="Something went wrong while analyzing that archive (details are in the bot's log). "
                     "Please try again; if it happens again, tell whoever runs the bot.")
        if not self.lease.begin_delivery():
            log.info("analysis of %r finished after it was handed back or taken over; not delivered", self.target)
            return {"result": "handed back"}
        self._deliver(result)
        return {"result": "delivered", "parent_ts": self.parent_ts}

    def _begin(self) -> None:
        """Take over the channel message and record the run (a take-over continues the one recorded)."""
        if self.services.positions is not None:  # from now on this worker edits the message
            self.services.positions.adopt(self.lease.task.id)
        if self.lease.task.ack_queued:  # another replica may be editing its place in line right now
            self.settle_at = self.services.clock() + POSITION_EDIT_SETTLE_S
        if self.run_id is None:  # the first attempt records the run
            created = self._record("the start", lambda s: s.runs.create_run(
                archive=self.target, trigger=str(self.lease.task.payload.get("trigger") or "slash"),
                channel=self.channel, user=self.user or None))
            if created is not None:
                self.run_id = created.id
                self.lease.attach_run(created.id)
        if self.run_id is not None:
            run_id = self.run_id
            self._record("the start", lambda s: s.runs.start_run(run_id))
        self._recover_parent()

    def _show_started(self, throttle: Throttle) -> bool:
        """The channel message says the analysis is under way; False when the task was handed back
        meanwhile. Raises SlackCallFailed when Slack refuses the message."""
        if self.lease.resumed and self.parent_ts is not None:
            # Another replica started it (and stopped): carry on in its message.
            self._status(f":hourglass_flowing_sand: {requested_by(self.user)} an analysis of {self.label} — resuming…")
            return True
        if self.parent_ts is None:
            return self.lease.while_working(self._post_parent)
        # Posted at the ack: it says "starting…" already, unless it shows a place in line (or was
        # found in Slack, saying either).
        task = self.lease.task
        if task.ack_queued or task.ack_ts is None:
            if not self.lease.while_working(lambda: self._edit_parent(parent_text(self.target, user=self.user))):
                return False
            throttle.ready()  # that was an edit: the next one at least an interval later
        return True

    def _report_failure(self, error: str, *, parent: str, tell: str,
                        result_error: str | None = None) -> dict[str, Any]:
        """Record the failed run and say so in the channel message and to the user — unless the
        task was handed back or taken over meanwhile (then it is not ours to report)."""
        if not self.lease.begin_delivery():
            return {"result": "handed back"}
        self._finish("failed", error=error)
        self._settle()
        self._edit_parent(f":x: Analysis of {self.label} {parent}")
        self._tell(tell)
        return {"result": "failed", "error": result_error or error}

    def _post_parent(self) -> None:
        # Tagged with the task's key: should this replica die before recording it, the one taking
        # over finds the message in Slack instead of leaving it at "starting…".
        self.parent_ts = self.poster.post(channel=self.channel, text=parent_text(self.target, user=self.user),
                                          marker=self.lease.task.key)
        self._remember_parent()

    def _remember_parent(self) -> None:
        assert self.parent_ts is not None
        self.lease.remember_message(channel=self.channel, ts=self.parent_ts)
        if self.run_id is not None:
            run_id, parent_ts = self.run_id, self.parent_ts
            self._record("the thread", lambda s: s.runs.set_run_thread(run_id, channel=self.channel,
                                                                      parent_ts=parent_ts))

    def _deliver(self, result: RunResult) -> None:
        self._finish("done", result=result)  # before the summary: its thread is answerable at once
        narrative = result.narrative
        note = " ".join(part for part in (narrative_note(narrative), *left_out(result.ingest.inventory.warnings))
                        if part)
        footer = (f"Chimera Insight {bot.__version__} · {result.files_total} files read"
                  " · full report and chart in the thread")
        archive = result.archive_name or self.target
        headline = result.headline
        assert self.parent_ts is not None
        self._settle()
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


class AnalysisTasks:
    """The `bot.flows.tasks.TaskHandler` for analyses."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._jobs: RunningJobs[AnalysisJob] = RunningJobs()

    def run(self, lease: Lease) -> dict[str, Any] | None:
        job = AnalysisJob.from_lease(self.services, lease)
        return self._jobs.run(lease.task.id, job, job.run)

    def interrupt(self, lease: Lease) -> None:
        job = self._jobs.get(lease.task.id)
        if job is not None:
            job._edit_parent(f":hourglass_flowing_sand: The bot is restarting: the analysis of {job.label} "
                             "will continue in a moment, here.")

    def give_up(self, task: Task, reason: str) -> None:
        """The records first (the run failed, its thread known), then the message, then the user."""
        p = task.payload
        target, channel = str(p.get("target", "?")), str(p.get("channel") or task.channel or "")
        text = interrupted_text(target, reason)
        poster, store = self.services.poster, self.services.store
        parent_ts = message_of(task, poster, channel=channel) if channel else None
        if task.run_id is not None:
            try:
                store.runs.finish_run(task.run_id, status="failed", error=f"interrupted: {reason}")
                if parent_ts is not None:  # its thread may be asked about (the predecessor may have
                    # died before recording it)
                    store.runs.set_run_thread(task.run_id, channel=channel, parent_ts=parent_ts)
            except ChimeraError:
                log.warning("could not close the interrupted run %d", task.run_id, exc_info=True)
        if parent_ts is not None:
            try:
                poster.update(channel=channel, ts=parent_ts, text=text)
            except SlackCallFailed as err:
                log.warning("could not mark the interrupted analysis: %s", err.code)
        tell_requester(poster, channel=channel, user=str(p.get("user") or ""), response_url=p.get("response_url"),
                       text=text)
