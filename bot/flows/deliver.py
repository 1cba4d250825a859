"""Delivering a result to Slack: the one routine analysis summaries, digests and thread answers share.

A result is one message — posted new, or replacing the placeholder that showed progress — and,
for reports, files in that message's thread. Nothing is lost silently: when the message cannot
replace its placeholder, or the files cannot be attached, the caller's handler explains it to the
people waiting (ephemerally, in the thread, or in the log: the caller knows who is waiting).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.errors import SlackCallFailed
from bot.flows.pipeline import RunResult
from bot.flows.ports import SlackPoster, Upload
from bot.render.charts import throughput_ttft_png
from bot.render.slack_text import escape_plain

log = logging.getLogger(__name__)

Explain = Callable[[SlackCallFailed], None]
ExplainUpload = Callable[..., None]  # called as (err, thread_ts=<the message's ts>)


@dataclass(frozen=True)
class Delivery:
    channel: str
    text: str  # the message text (the notification / fallback when there are blocks)
    blocks: Sequence[dict[str, Any]] | None = None
    replace_ts: str | None = None  # the placeholder to replace; None posts a new message
    uploads: Sequence[Upload] = ()  # attached in the message's thread
    marker: str | None = None  # tags a new message so it can be found again (`SlackPoster.find_marked`)


def deliver(poster: SlackPoster, delivery: Delivery, *, on_message_failure: Explain | None = None,
            on_upload_failure: ExplainUpload | None = None) -> str:
    """Deliver; returns the message's ts.

    A new message that cannot be posted raises `SlackCallFailed`: nothing is visible yet, so the
    caller reports the failure its own way. A placeholder that cannot be replaced, or files that
    cannot be attached, go to the handlers and the rest of the delivery goes on.
    """
    ts = delivery.replace_ts
    if ts is None:
        ts = poster.post(channel=delivery.channel, text=delivery.text, blocks=delivery.blocks, marker=delivery.marker)
    else:
        try:
            poster.update(channel=delivery.channel, ts=ts, text=delivery.text, blocks=delivery.blocks)
        except SlackCallFailed as err:
            _explain(on_message_failure, err)
    if delivery.uploads:
        try:
            poster.upload(channel=delivery.channel, thread_ts=ts, files=delivery.uploads)
        except SlackCallFailed as err:
            _explain(None if on_upload_failure is None else partial(on_upload_failure, thread_ts=ts), err)
    return ts


def report_uploads(result: RunResult, *, chart: bool = True) -> list[Upload]:
    """The report (and, when it renders, the chart) for a result's thread."""
    archive = result.archive_name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", archive).strip("-.")[:80] or "archive"
    uploads = [Upload(f"{stem}-report.md", result.report_md.encode("utf-8"), escape_plain(f"Report: {archive}"))]
    if not chart:
        return uploads
    try:
        png = throughput_ttft_png(result.data.get("models") or [], title=archive)
    except Exception:  # a chart is a nice-to-have; the report must still go out
        log.exception("chart rendering failed for %r", archive)
        png = None
    if png:
        uploads.append(Upload(f"{stem}-chart.png", png, escape_plain(f"Throughput and TTFT per model: {archive}")))
    return uploads


def _explain(handler: Explain | None, err: SlackCallFailed) -> None:
    if handler is None:
        log.warning("slack delivery problem: %s", err.code)
        return
    try:
        handler(err)
    except Exception:  # the people waiting are unreachable; the log is all that is left
        log.exception("could not explain a delivery problem (%s)", err.code)
