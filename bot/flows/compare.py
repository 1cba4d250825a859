"""``/chimera compare``: the digest's detector on demand, between two archives or two configurations.

What a team asks right after a nightly run looks odd. The listener only parses, queues a task in
the durable work queue (`bot.flows.intake.queue_compare`) and acks; any replica claims it and runs a
`CompareJob` on its analysis workers (`CompareTasks`, the `bot.flows.tasks.TaskHandler` for
comparisons — durable like an analysis, so a comparison whose replica dies is resumed in the same
message or, after too many attempts, marked interrupted instead of left at "analyzing…"); the job

1. posts one placeholder message ("comparing …");
2. analyzes archive A, then archive B (the pipeline, data only: no narrative), or one archive once
   when two configurations of it are compared (`bot.core.comparable.select_config`);
3. builds the news of B against A (`bot.core.news.build_news`, A as the one earlier run: run-to-run
   noise is assumed, not measured, and the message says so);
4. replaces the placeholder with the result, posted like a digest (`bot.render.compare`), and puts
   the news report in its thread — through the one delivery routine, `bot.flows.deliver`.

Problems reach the requester as an ephemeral message (``notify``) and mark the placeholder failed.
When this replica stops, the task goes back to the queue and the placeholder says it will continue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bot.core.comparable import parse_selector, select_config
from bot.core.news import News, Snapshot, build_news
from bot.core.records import Task
from bot.errors import ChimeraError, NothingToCompare, SlackCallFailed
from bot.flows.analysis_job import tell_requester
from bot.flows.deliver import Delivery, deliver, news_upload
from bot.flows.pipeline import RunsAnalyses
from bot.flows.ports import SlackPoster
from bot.flows.services import Services
from bot.flows.tasks import Lease, RunningJobs, message_of
from bot.render.compare import CompareView, comparing_text, failed_text
from bot.render.slack_text import escape_mrkdwn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    """What to compare: archive ``current`` against archive ``baseline`` — or, with ``configs``
    (selectors ``k=v[,k=v]``), configuration ``configs[1]`` against ``configs[0]`` of one archive."""

    baseline: str
    current: str
    configs: tuple[str, str] | None = None

    def to_payload(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "current": self.current,
                "configs": None if self.configs is None else list(self.configs)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Comparison:
        configs = payload.get("configs")
        return cls(str(payload["baseline"]), str(payload["current"]),
                   None if not configs else (str(configs[0]), str(configs[1])))

    @property
    def command(self) -> str:
        """The slash command that asks for this comparison again."""
        words = [self.baseline, *(self.configs or (self.current,))]
        return "/chimera compare " + " ".join(escape_mrkdwn(w) for w in words)

    @property
    def labels(self) -> tuple[str, str]:
        if self.configs is None:
            return self.baseline, self.current
        a, b = (str(parse_selector(c)) for c in self.configs)
        return f"{self.baseline} [{a}]", f"{self.current} [{b}]"


def compare_news(comparison: Comparison, pipeline: RunsAnalyses, *, allow_local_paths: bool = False) -> News:
    """Analyze the archive(s) and judge B against A; raises `ChimeraError` subclasses for the user.
    ``allow_local_paths``: the CLI only (names from Slack are looked up in the storage roots)."""
    base_label, cur_label = comparison.labels

    def measurements(target: str) -> pd.DataFrame:
        return pipeline.run(target, use_llm=False, allow_local_paths=allow_local_paths).ingest.measurements

    base_frame = measurements(comparison.baseline)
    if comparison.configs is None:
        cur_frame = measurements(comparison.current)
    else:
        cur_frame = base_frame
        a, b = (parse_selector(c) for c in comparison.configs)
        base_frame, cur_frame = select_config(base_frame, a), select_config(cur_frame, b)
    for label, frame in ((base_label, base_frame), (cur_label, cur_frame)):
        if len(frame) == 0:
            raise NothingToCompare(f"`{label}` holds no measurements to compare.")
    return build_news(Snapshot(cur_label, cur_frame), [Snapshot(base_label, base_frame)])


@dataclass
class CompareJob:
    """One comparison from request to thread. ``notify`` sends the requester an ephemeral message.

    With a ``lease`` (a task of the durable queue) the lease guards the message: a take-over
    carries on in the message a predecessor posted, a job handed back (`hand_back`) or taken over
    delivers nothing. Without one (a plain call) `cancel` stops it."""

    pipeline: RunsAnalyses
    poster: SlackPoster
    comparison: Comparison
    channel: str
    user: str
    notify: Callable[[str], None]
    parent_ts: str | None = None
    lease: Lease | None = None
    sleep: Callable[[float], None] = time.sleep  # between retries of the final edit
    _state: str = field(default="running", init=False, repr=False)  # -> delivering | cancelled
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _tell(self, text: str) -> None:
        try:
            self.notify(text)
        except Exception:  # the user is unreachable; the log is all we have
            log.exception("could not notify user %s", self.user)

    def _edit(self, text: str) -> None:
        if self.parent_ts is None:
            return
        try:
            self.poster.update(channel=self.channel, ts=self.parent_ts, text=text)
        except SlackCallFailed as err:
            log.warning("could not update the comparison's message: %s", err.code)

    def _while_working(self, action: Callable[[], None]) -> bool:
        """Run ``action`` (a Slack call) only while the job is still being worked on here."""
        if self.lease is not None:  # its phase is this job's state (`hand_back` runs under its lock)
            return self.lease.while_working(action)
        with self._lock:
            if self._state != "running":
                return False
            action()
            return True

    def _begin_delivery(self) -> bool:
        """From now on the outcome goes out; False when the job was stopped, handed back or taken
        over (then whoever holds it reports)."""
        if self.lease is not None and not self.lease.begin_delivery():
            return False
        with self._lock:
            if self._state != "running":
                return False
            self._state = "delivering"
            return True

    def _placeholder(self) -> None:
        text = comparing_text(*self.comparison.labels, user=self.user)
        if self.lease is not None and self.lease.resumed:
            if self.parent_ts is None:  # the predecessor died before recording it: Slack has it, tagged
                self.parent_ts = message_of(self.lease.task, self.poster, channel=self.channel)
            if self.parent_ts is not None:
                self.lease.remember_message(channel=self.channel, ts=self.parent_ts)
                self._edit(text.replace("analyzing…", "resuming…"))
                return
        marker = self.lease.task.key if self.lease is not None else None
        self.parent_ts = self.poster.post(channel=self.channel, text=text, marker=marker)
        if self.lease is not None:
            self.lease.remember_message(channel=self.channel, ts=self.parent_ts)

    def run(self) -> dict[str, Any]:
        try:
            if not self._while_working(self._placeholder):
                return {"result": "stopped before it started"}
        except SlackCallFailed as err:
            self._tell(str(err))
            return {"result": "failed", "error": err.code}
        try:
            news = compare_news(self.comparison, self.pipeline)
        except ChimeraError as err:
            log.info("comparison %r failed: %s", self.comparison, err)
            return self._fail(escape_mrkdwn(str(err)))
        except Exception:
            log.exception("comparison %r crashed", self.comparison)
            return self._fail("an internal error (details are in the bot's log)")
        if not self._begin_delivery():
            log.info("comparison %r finished after it was stopped or handed back; not delivered", self.comparison)
            return {"result": "handed back"}
        self._deliver(news)
        return {"result": "delivered", "parent_ts": self.parent_ts}

    def _fail(self, reason: str) -> dict[str, Any]:
        if not self._begin_delivery():
            return {"result": "handed back"}
        self._edit(failed_text(*self.comparison.labels, reason=reason))
        self._tell(f"The comparison failed: {reason}")
        return {"result": "failed", "error": reason}

    def _deliver(self, news: News) -> None:
        base, cur = self.comparison.labels
        view = CompareView(news=news, baseline=base, current=cur, user=self.user)
        assert self.parent_ts is not None
        deliver(
            self.poster,
            Delivery(channel=self.channel, replace_ts=self.parent_ts, text=view.fallback_text(),
                     blocks=view.blocks(), uploads=[news_upload(news, title=f"Comparison: {cur} vs {base}")],
                     final_text=(f":white_check_mark: The comparison of `{escape_mrkdwn(cur)}` with "
                                 f"`{escape_mrkdwn(base)}` finished, but Slack would not show it here. "
                                 "The news report is in this message's thread.")),
            on_message_failure=lambda err: self._tell(f"The comparison finished but I couldn't post it: {err}"),
            on_upload_failure=lambda err, thread_ts: self._tell(
                f"The comparison is posted, but I couldn't attach its report: {err}"),
            sleep=self.sleep,
        )

    def cancel(self, message: str) -> None:
        """Stop the job for good: mark the placeholder (if any) and tell the requester."""
        with self._lock:
            if self._state != "running":
                return
            self._state = "cancelled"
            self._edit(":warning: Comparison stopped: the bot is restarting.")
        self._tell(message)

    def hand_back(self) -> None:
        """This replica stops and the task goes back to the queue: say it will continue. Called
        under the lease's lock (`Lease.cancel`), so no Slack edit of the job's runs meanwhile."""
        self._state = "cancelled"
        base, cur = self.comparison.labels
        self._edit(f":hourglass_flowing_sand: The bot is restarting: the comparison of `{escape_mrkdwn(cur)}` "
                   f"with `{escape_mrkdwn(base)}` will continue in a moment, here.")


def interrupted_text(comparison: Comparison, reason: str) -> str:
    base, cur = comparison.labels
    return (f":warning: The comparison of `{escape_mrkdwn(cur)}` with `{escape_mrkdwn(base)}` was interrupted "
            f"({reason}), so it did not finish. Run `{comparison.command}` again.")


class CompareTasks:
    """The `bot.flows.tasks.TaskHandler` for comparisons."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._jobs: RunningJobs[CompareJob] = RunningJobs()

    def _notify(self, payload: dict[str, Any], channel: str) -> Callable[[str], None]:
        return lambda text: tell_requester(self.services.poster, channel=channel, user=str(payload.get("user") or ""),
                                           response_url=payload.get("response_url"), text=text)

    def run(self, lease: Lease) -> dict[str, Any] | None:
        p = lease.task.payload
        channel = str(p["channel"])
        job = CompareJob(pipeline=self.services.pipeline, poster=self.services.poster,
                         comparison=Comparison.from_payload(p), channel=channel, user=str(p.get("user") or ""),
                         notify=self._notify(p, channel), parent_ts=lease.task.message_ts, lease=lease,
                         sleep=self.services.sleep)
        return self._jobs.run(lease.task.id, job, job.run)

    def interrupt(self, lease: Lease) -> None:
        job = self._jobs.get(lease.task.id)
        if job is not None:
            job.hand_back()

    def give_up(self, task: Task, reason: str) -> None:
        p = task.payload
        channel = str(p.get("channel") or task.channel or "")
        text = interrupted_text(Comparison.from_payload(p), reason)
        parent_ts = message_of(task, self.services.poster, channel=channel) if channel else None
        if parent_ts is not None:
            try:
                self.services.poster.update(channel=channel, ts=parent_ts, text=text)
            except SlackCallFailed as err:
                log.warning("could not mark the interrupted comparison: %s", err.code)
        self._notify(p, channel)(text)
