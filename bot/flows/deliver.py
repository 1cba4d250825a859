"""Delivering a result to Slack: the one routine analysis summaries, digests and thread answers share.

A result is one message — posted new, or replacing the placeholder that showed progress — and,
for reports, files in that message's thread. Nothing is lost silently: when the message cannot
replace its placeholder, or the files cannot be attached, the caller's handler explains it to the
people waiting (ephemerally, in the thread, or in the log: the caller knows who is waiting).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.core.limits import left_out_short
from bot.core.news import News
from bot.errors import SlackCallFailed
from bot.flows.pipeline import RunResult
from bot.flows.ports import SlackPoster, Upload
from bot.render.charts import chart_png
from bot.render.news import news_markdown
from bot.render.slack_text import escape_plain

log = logging.getLogger(__name__)

Explain = Callable[[SlackCallFailed], None]
ExplainUpload = Callable[..., None]  # called as (err, thread_ts=<the message's ts>)


# Waits before the 2nd and 3rd try of a final edit that failed for a reason that may pass.
RETRY_DELAYS_S = (2.0, 8.0)
# Slack error codes after which the same edit can never work: no retry, no short text either.
HOPELESS = frozenset({"not_in_channel", "channel_not_found", "is_archived", "message_not_found",
                      "cant_update_message", "edit_window_closed", "invalid_auth", "not_authed",
                      "account_inactive", "token_revoked", "missing_scope", "restricted_action"})
# ... and after which retrying the same content is pointless (the short text may still fit).
REFUSED_CONTENT = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_attachments",
                             "no_text", "invalid_arguments"})


@dataclass(frozen=True)
class Delivery:
    channel: str
    text: str  # the message text (the notification / fallback when there are blocks)
    blocks: Sequence[dict[str, Any]] | None = None
    replace_ts: str | None = None  # the placeholder to replace; None posts a new message
    uploads: Sequence[Upload] = ()  # attached in the message's thread
    # For a final edit (the summary replacing "Analyzing…"): a failed edit is retried after
    # RETRY_DELAYS_S, then this short plain text replaces the placeholder instead, so the
    # message never stays "starting…". None: one try (progress edits, streamed answers).
    final_text: str | None = None
    marker: str | None = None  # tags a new message so it can be found again (`SlackPoster.find_marked`)


def deliver(poster: SlackPoster, delivery: Delivery, *, on_message_failure: Explain | None = None,
            on_upload_failure: ExplainUpload | None = None,
            sleep: Callable[[float], None] = time.sleep) -> str:
    """Deliver; returns the message's ts.

    A new message that cannot be posted raises `SlackCallFailed`: nothing is visible yet, so the
    caller reports the failure its own way. A placeholder that cannot be replaced (after the
    retries and the short text, for a final edit), or files that cannot be attached, go to the
    handlers and the rest of the delivery goes on.
    """
    ts = delivery.replace_ts
    if ts is None:
        ts = poster.post(channel=delivery.channel, text=delivery.text, blocks=delivery.blocks, marker=delivery.marker)
    else:
        try:
            _replace(poster, delivery, ts, sleep)
        except SlackCallFailed as err:
            _explain(on_message_failure, err)
    attach(poster, channel=delivery.channel, ts=ts, uploads=delivery.uploads, on_upload_failure=on_upload_failure)
    return ts


def attach(poster: SlackPoster, *, channel: str, ts: str, uploads: Sequence[Upload],
           on_upload_failure: ExplainUpload | None = None) -> None:
    """Attach files in the thread of message ``ts``; a failure goes to ``on_upload_failure``
    (called as ``(err, thread_ts=ts)``), never raises."""
    if not uploads:
        return
    try:
        poster.upload(channel=channel, thread_ts=ts, files=uploads)
    except SlackCallFailed as err:
        _explain(None if on_upload_failure is None else partial(on_upload_failure, thread_ts=ts), err)


def _replace(poster: SlackPoster, delivery: Delivery, ts: str, sleep: Callable[[float], None]) -> None:
    """Edit the placeholder; for a final edit, retry what may pass, then fall back to the short text."""
    tries: list[tuple[str, Sequence[dict[str, Any]] | None]] = [(delivery.text, delivery.blocks)]
    if delivery.final_text is not None:
        tries.append((delivery.final_text, None))
    delays = RETRY_DELAYS_S if delivery.final_text is not None else ()
    last: SlackCallFailed | None = None
    for text, blocks in tries:
        for attempt in range(len(delays) + 1):
            if attempt:
                sleep(delays[attempt - 1])
            try:
                poster.update(channel=delivery.channel, ts=ts, text=text, blocks=blocks)
                if last is not None:
                    log.info("final edit delivered after %s (%s)", last.code,
                             "short text" if blocks is None and text == delivery.final_text else "retry")
                return
            except SlackCallFailed as err:
                last = err
                if delivery.final_text is not None:
                    log.warning("final edit attempt failed: %s", err.code)
                if err.code in HOPELESS:
                    raise
                if err.code in REFUSED_CONTENT:
                    break  # this content will never pass; the short text may
    assert last is not None
    raise last


def report_uploads(result: RunResult, *, chart: bool = True) -> list[Upload]:
    """The report (and, when it renders, the chart) for a result's thread."""
    archive = result.archive_name
    stem = _stem(archive)
    uploads = [Upload(f"{stem}-report.md", result.report_md.encode("utf-8"), escape_plain(f"Report: {archive}"))]
    if not chart:
        return uploads
    try:
        drawn = chart_png(result.analysis, title=chart_title(result))
    except Exception:  # a chart is a nice-to-have; the report must still go out
        log.exception("chart rendering failed for %r", archive)
        drawn = None
    if drawn is not None:
        uploads.append(Upload(f"{stem}-chart.png", drawn.png, escape_plain(f"Charts: {archive}")))
    return uploads


def chart_title(result: RunResult) -> str:
    """The chart's title: the archive, and what the report leaves out past its caps."""
    short = left_out_short(result.ingest.inventory.warnings)
    return f"{result.archive_name} — {short}" if short else result.archive_name


def news_upload(news: News, *, title: str) -> Upload:
    """The news report (every line and every series compared) for a digest's or comparison's thread."""
    return Upload(f"{_stem(news.current)}-news.md", news_markdown(news, title_text=title).encode("utf-8"),
                  escape_plain(title))


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:80] or "archive"


def _explain(handler: Explain | None, err: SlackCallFailed) -> None:
    if handler is None:
        log.warning("slack delivery problem: %s", err.code)
        return
    try:
        handler(err)
    except Exception:  # the people waiting are unreachable; the log is all that is left
        log.exception("could not explain a delivery problem (%s)", err.code)
