"""``/chimera compare``: the digest's detector on demand, between two archives or two configurations.

What a team asks right after a nightly run looks odd. `start_compare` queues a `CompareJob` in the
job pool (the listener only parses and acks); the job

1. posts one placeholder message ("comparing …");
2. analyzes archive A, then archive B (the pipeline, data only: no narrative), or one archive once
   when two configurations of it are compared (`bot.core.comparable.select_config`);
3. builds the news of B against A (`bot.core.news.build_news`, A as the one earlier run: run-to-run
   noise is assumed, not measured, and the message says so);
4. replaces the placeholder with the result, posted like a digest (`bot.render.compare`), and puts
   the news report in its thread — through the one delivery routine, `bot.flows.deliver`.

Problems reach the requester as an ephemeral message (``notify``) and mark the placeholder failed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bot.core.comparable import parse_selector, select_config
from bot.core.news import News, Snapshot, build_news
from bot.errors import ChimeraError, NothingToCompare, SlackCallFailed
from bot.flows.deliver import Delivery, deliver, news_upload
from bot.flows.pipeline import RunsAnalyses
from bot.flows.ports import SlackPoster
from bot.flows.services import Services
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
    """One comparison from request to thread. ``notify`` sends the requester an ephemeral message."""

    pipeline: RunsAnalyses
    poster: SlackPoster
    comparison: Comparison
    channel: str
    user: str
    notify: Callable[[str], None]
    parent_ts: str | None = None
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

    def run(self) -> None:
        try:
            with self._lock:
                if self._state != "running":
                    return
                self.parent_ts = self.poster.post(channel=self.channel,
                                                  text=comparing_text(*self.comparison.labels, user=self.user))
        except SlackCallFailed as err:
            self._tell(str(err))
            return
        try:
            news = compare_news(self.comparison, self.pipeline)
        except ChimeraError as err:
            log.info("comparison %r failed: %s", self.comparison, err)
            self._fail(escape_mrkdwn(str(err)))
            return
        except Exception:
            log.exception("comparison %r crashed", self.comparison)
            self._fail("an internal error (details are in the bot's log)")
            return
        self._deliver(news)

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self._state != "running":
                return
            self._edit(failed_text(*self.comparison.labels, reason=reason))
        self._tell(f"The comparison failed: {reason}")

    def _deliver(self, news: News) -> None:
        with self._lock:
            if self._state != "running":
                return
            self._state = "delivering"
        base, cur = self.comparison.labels
        view = CompareView(news=news, baseline=base, current=cur, user=self.user)
        assert self.parent_ts is not None
        deliver(
            self.poster,
            Delivery(channel=self.channel, replace_ts=self.parent_ts, text=view.fallback_text(),
                     blocks=view.blocks(), uploads=[news_upload(news, title=f"Comparison: {cur} vs {base}")]),
            on_message_failure=lambda err: self._tell(f"The comparison finished but I couldn't post it: {err}"),
            on_upload_failure=lambda err, thread_ts: self._tell(
                f"The comparison is posted, but I couldn't attach its report: {err}"),
        )

    def cancel(self, message: str) -> None:
        """Called by the pool at shutdown: mark the placeholder (if any) and tell the requester."""
        with self._lock:
            if self._state != "running":
                return
            self._state = "cancelled"
            self._edit(":warning: Comparison stopped: the bot is restarting.")
        self._tell(message)


def start_compare(services: Services, poster: SlackPoster, *, comparison: Comparison, channel: str, user: str,
                  notify: Callable[[str], None]) -> str:
    """Queue a comparison; returns the confirmation to show the requester (raises QueueFull/PoolClosed)."""
    job = CompareJob(pipeline=services.pipeline, poster=poster, comparison=comparison, channel=channel,
                     user=user, notify=notify)
    base, cur = comparison.labels
    position = services.jobs.submit(f"compare {cur} vs {base} ({user})", job.run, on_cancel=job.cancel)
    what = f"`{escape_mrkdwn(cur)}` with `{escape_mrkdwn(base)}`"
    if position == 0:
        return f":hourglass_flowing_sand: Comparing {what} — I'll post the result in this channel."
    return f":inbox_tray: Queued the comparison of {what}: position {position} in line."
