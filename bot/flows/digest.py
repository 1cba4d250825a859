"""One scheduled digest: what is new under a subscription's prefix, what changed, one Slack post.

`run_digest(subscription, ...)`:

1. List the archives under the prefix (`bot.adapters.storage.list_archives`). Archives are ordered by
   *name*: nightly archives carry their date in the name (``nightly/2025-11-14.tar.gz``) and
   ISO dates sort correctly, while modification times change when a folder is copied or touched.
   Numbers inside names compare by value (`archive_order`), so ``run-10`` comes after ``run-9``.
   "New" = named after the newest archive this subscription ever claimed. The newest new one is
   digested; older new ones are named in the message (one digest per fire, never a burst).
2. Claim it with `Store.claim_digest` (a unique run key: exactly once across processes).
3. Analyze it (`run_analysis`, narrative per ``settings.digest_use_llm``; a crash with the narrative
   on is retried once data-only, so a broken model never blocks the digest).
4. Compare its measurements with the previous *posted* digest of the same subscription
   (`bot.core.regression.compare`), with earlier digests' medians as the noise history.
5. Post ONE summary message, then the full report in its thread; mark the digest posted.

Nothing new -> one line, or nothing when the subscription is quiet. Any failure after the claim
marks the run and digest failed and says so in the channel; failures before it propagate to the
caller (`bot.adapters.scheduler`), which records and reports them the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bot
from bot.render.blocks import MAX_BLOCKS, headline_fields
from bot.errors import ArchiveError, ChimeraError
from bot.core.regression import (
    IMPROVEMENT,
    METHOD_MW,
    METHOD_MW_Z,
    METRIC_RULES,
    REGRESSION,
    Change,
    compare,
    format_number,
    history_from_archives,
    plural,
)
from bot.settings import Settings
from bot.render.slack_text import HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT, escape_mrkdwn, escape_plain, split_text, truncate
from bot.errors import SlackCallFailed
from bot.adapters.slack import SlackOps, Upload
from bot.adapters.storage import list_archives
from bot.adapters.db import Store
from bot.core.records import Digest, Subscription

log = logging.getLogger(__name__)

MAX_HISTORY = 8  # earlier digests whose medians form the noise history
MAX_REGRESSIONS_SHOWN = 8
MAX_IMPROVEMENTS_SHOWN = 5
MAX_SKIPPED_NAMED = 3
INTERNAL_ERROR = "an internal error (details are in the bot's log)"

RunAnalysis = Callable[..., Any]  # `bot.flows.pipeline.run_analysis` (see `bot.flows.services.RunAnalysis`)

# Outcome statuses.
POSTED, NOTHING_NEW, QUIET, CLAIMED_ELSEWHERE, INACTIVE, FAILED = (
    "posted", "nothing new", "quiet", "claimed elsewhere", "inactive", "failed")

_SEVERITY_ICON = {"critical": ":red_circle:", "major": ":large_orange_circle:",
                  "minor": ":large_yellow_circle:"}


@dataclass(frozen=True)
class DigestOutcome:
    """What one digest run did (for the scheduler's record and for tests)."""

    status: str  # one of the outcome statuses above
    archive: str | None = None
    digest_id: int | None = None
    posted_ts: str | None = None
    changes: tuple[Change, ...] = ()
    error: str | None = None
    run_id: int | None = None  # the run that holds the digested archive's analysis


_DIGITS = re.compile(r"([0-9]+)")


def archive_order(name: str) -> tuple[list[str | int], str]:
    """Sort key for archive names: runs of digits compare as numbers (``run-9`` < ``run-10``,
    ``2025-11-9`` < ``2025-11-10``), the rest as text; the name itself breaks ties (``run-09``).

    Plain string order would put ``run-10`` before ``run-9``, and a subscription whose newest
    digested archive is ``run-9`` would never see anything new again.
    """
    parts = _DIGITS.split(name)  # text, digits, text, …: the same kind at the same position
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def pick_archive(names: Iterable[str], digested: Iterable[str]) -> tuple[str | None, list[str]]:
    """(the archive to digest, the other new archives it supersedes), by `archive_order`.

    Only names after the newest one ever claimed count as new, so an old archive that was never
    digested (skipped, or there before the subscription) is not dug out later.
    """
    last = max(digested, key=archive_order, default=None)
    fresh = sorted((n for n in set(names) if last is None or archive_order(n) > archive_order(last)),
                   key=archive_order)
    if not fresh:
        return None, []
    return fresh[-1], fresh[:-1]


def run_digest(
    subscription: Subscription,
    *,
    store: Store,
    settings: Settings,
    ops: SlackOps,
    run_analysis: RunAnalysis,
) -> DigestOutcome:
    """Digest what is new for ``subscription`` (see the module docstring)."""
    if not subscription.active:
        return DigestOutcome(INACTIVE)
    names = [ref.name for ref in list_archives(subscription.prefix, settings=settings)]
    digested = store.digested_archives(subscription.id)
    archive, superseded = pick_archive(names, digested)
    if archive is None:
        if subscription.quiet_when_nothing_new:
            return DigestOutcome(QUIET)
        ts = ops.post(channel=subscription.channel, text=nothing_new_text(subscription, digested))
        return DigestOutcome(NOTHING_NEW, posted_ts=ts)
    claim = store.claim_digest(subscription.id, archive)
    if claim is None:  # another process (or an overlapping fire) has it
        log.info("digest of %r for subscription %d claimed elsewhere", archive, subscription.id)
        return DigestOutcome(CLAIMED_ELSEWHERE, archive)
    try:
        return _digest_archive(subscription, claim, superseded, store=store, settings=settings,
                               ops=ops, run_analysis=run_analysis)
    except Exception as err:  # every failure after the claim is recorded and reported, never lost
        reason = user_reason(err)
        log.exception("digest of %r for subscription %d failed", archive, subscription.id)
        record_failure(store, claim, reason)
        report_failure(ops, subscription, reason, archive=archive)
        return DigestOutcome(FAILED, archive, claim.id, error=reason, run_id=claim.run_id)


def user_reason(err: BaseException) -> str:
    """A short, user-facing reason: our own errors say what happened, anything else does not leak."""
    return str(err) if isinstance(err, ChimeraError) and str(err) else INTERNAL_ERROR


def record_failure(store: Store, claim: Digest, reason: str) -> None:
    """Mark the claimed digest and its run failed; a database that fails here too is logged."""
    try:
        if claim.run_id is not None:
            store.finish_run(claim.run_id, status="failed", error=reason)
    except Exception:
        log.exception("could not record the failure of digest run %s", claim.run_id)
    try:
        store.finish_digest(claim.id, status="failed", error=reason)
    except Exception:
        log.exception("could not record the failure of digest %d", claim.id)


def report_failure(ops: SlackOps, subscription: Subscription, reason: str, *, archive: str | None) -> None:
    """Tell the channel; when Slack is the thing that failed, the log is all that is left."""
    what = f"of `{escape_mrkdwn(archive)}`" if archive else f"for `{escape_mrkdwn(subscription.prefix)}`"
    text = (f":x: The scheduled digest {what} (digest #{subscription.id}) failed: "
            f"{escape_mrkdwn(reason)}")
    if archive:
        text += (f" It is not retried automatically; `/chimera analyze {escape_mrkdwn(archive)}` "
                 "runs it by hand.")
    try:
        ops.post(channel=subscription.channel, text=text)
    except SlackCallFailed:
        log.exception("could not report the failed digest to %s", subscription.channel)


def nothing_new_text(subscription: Subscription, digested: Iterable[str]) -> str:
    last = max(digested, key=archive_order, default=None)
    prefix = escape_mrkdwn(subscription.prefix)
    if last is None:
        return f":zzz: No archives under `{prefix}` yet (digest #{subscription.id})."
    return (f":zzz: Nothing new under `{prefix}` since `{escape_mrkdwn(last)}` "
            f"(digest #{subscription.id}).")


# --------------------------------------------------------------------------- the digest itself


def _digest_archive(subscription: Subscription, claim: Digest, superseded: Sequence[str], *,
                    store: Store, settings: Settings, ops: SlackOps,
                    run_analysis: RunAnalysis) -> DigestOutcome:
    assert claim.run_id is not None  # claim_digest always creates the run
    archive = claim.archive
    store.start_run(claim.run_id)
    result = _analyze(archive, settings=settings, run_analysis=run_analysis)
    current = result.ingest.measurements
    previous = store.previous_digest_runs(subscription.id, limit=MAX_HISTORY)
    baseline_name: str | None = None
    changes: list[Change] = []
    history_size = 0
    if previous:
        baseline_name = previous[0].archive
        earlier = [store.load_measurements(run.id) for run in reversed(previous)]  # oldest first
        history_size = len(earlier)
        changes = compare(current, earlier[-1], history=history_from_archives(earlier))
    store.finish_run(claim.run_id, status="done", summary=result.data, report_md=result.report_md,
                     timings=getattr(result, "timings_s", None), measurements=current)

    narrative = getattr(result, "narrative", None)
    status, reason = getattr(narrative, "status", ""), getattr(narrative, "reason", "")
    view = DigestView(
        subscription=subscription, archive=archive, baseline=baseline_name, changes=changes,
        history_size=history_size, superseded=list(superseded),
        headline=(result.data or {}).get("headline") or {},
        note=f"Narrative {status}: {reason}" if reason and status != "ok" else "",
    )
    ts = ops.post(channel=subscription.channel, text=view.fallback_text(), blocks=view.blocks())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", archive).strip("-.")[:80] or "archive"
    try:
        ops.upload(channel=subscription.channel, thread_ts=ts, files=[
            Upload(f"{stem}-report.md", result.report_md.encode("utf-8"), escape_plain(f"Report: {archive}"))])
    except SlackCallFailed as err:  # the digest itself is out; say in its thread what is missing
        log.warning("digest report upload failed: %s", err.code)
        try:
            ops.post(channel=subscription.channel, thread_ts=ts,
                     text=f":warning: I couldn't attach the full report: {err} "
                          f"`/chimera analyze {escape_mrkdwn(archive)}` posts it again.")
        except SlackCallFailed:
            log.exception("could not explain the missing report")
    store.finish_digest(claim.id, status="posted", posted_ts=ts)
    return DigestOutcome(POSTED, archive, claim.id, ts, tuple(changes), run_id=claim.run_id)


def _analyze(archive: str, *, settings: Settings, run_analysis: RunAnalysis) -> Any:
    use_llm = settings.digest_use_llm
    try:
        return run_analysis(archive, settings=settings, use_llm=use_llm, allow_local_paths=False)
    except ArchiveError:
        raise
    except Exception:
        if not use_llm:
            raise
        # The pipeline promises that narrative problems never raise; if one does anyway, the
        # numbers still deserve their digest.
        log.exception("digest analysis of %r crashed with the narrative on; retrying data-only", archive)
        return run_analysis(archive, settings=settings, use_llm=False, allow_local_paths=False)


# --------------------------------------------------------------------------- the message


@dataclass(frozen=True)
class DigestView:
    """The digest message (Block Kit). Archive, model and config names are untrusted: escaped."""

    subscription: Subscription
    archive: str
    baseline: str | None
    changes: Sequence[Change]
    history_size: int = 0
    superseded: Sequence[str] = ()
    headline: Mapping[str, Any] | None = None
    note: str = ""

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.is_alert and c.direction == REGRESSION]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if c.is_alert and c.direction == IMPROVEMENT]

    def verdict(self) -> str:
        """One mrkdwn line: the news, or "no significant change" when that is the truth."""
        if self.baseline is None:
            return (":new: First digest of this subscription: nothing earlier to compare with. "
                    "The next digest is compared with this archive.")
        base = f"`{escape_mrkdwn(self.baseline)}`"
        compared = [c for c in self.changes if c.method in (METHOD_MW, METHOD_MW_Z)]
        unclear = len(self.changes) - len(compared)
        unclear_note = f"; {unclear} without enough comparable data" if unclear else ""
        if not compared:
            return (f":grey_question: Not enough comparable data to compare with {base} "
                    f"({len(self.changes)} model/config/metric combinations).")
        regressions, improvements = len(self.regressions), len(self.improvements)
        if not regressions and not improvements:
            return (f":white_check_mark: *No significant change* since {base} "
                    f"({len(compared)} comparisons within noise{unclear_note}).")
        icon = ":warning:" if regressions else ":chart_with_upwards_trend:"
        return (f"{icon} *{plural(regressions, 'regression')}*, {plural(improvements, 'improvement')} "
                f"since {base} ({len(compared)} comparisons{unclear_note}).")

    def fallback_text(self) -> str:
        text = f"Digest of {self.archive}: "
        if self.baseline is None:
            text += "first digest, nothing to compare with"
        elif self.regressions:
            worst = self.regressions[0]
            text += (f"{plural(len(self.regressions), 'regression')}, worst: {worst.severity} "
                     f"{worst.model} {METRIC_RULES[worst.metric].label} {_pct(worst.rel_change)}")
        elif self.improvements:
            text += f"{plural(len(self.improvements), 'improvement')}, no regressions"
        else:
            text += "no significant change"
        return escape_mrkdwn(text)

    def blocks(self) -> list[dict[str, Any]]:
        title = f"Digest: {self.archive}"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                        "text": truncate(escape_plain(title), HEADER_TEXT_LIMIT)}},
            _section(self.verdict()),
        ]
        for label, items, limit in (("Regressions", self.regressions, MAX_REGRESSIONS_SHOWN),
                                    ("Improvements", self.improvements, MAX_IMPROVEMENTS_SHOWN)):
            if not items:
                continue
            lines = [f"*{label}*"] + [change_line(c) for c in items[:limit]]
            if len(items) > limit:
                lines.append(f"… and {len(items) - limit} more in the report thread.")
            blocks += [_section(chunk) for chunk in split_text("\n".join(lines), SECTION_TEXT_LIMIT)]
        if self.headline:
            blocks.append({"type": "section", "fields": headline_fields(self.headline)})
        context = []
        if self.superseded:
            named = ", ".join(f"`{escape_mrkdwn(n)}`" for n in self.superseded[-MAX_SKIPPED_NAMED:])
            more = len(self.superseded) - MAX_SKIPPED_NAMED
            context.append(f"Also new, not digested separately: {named}"
                           + (f" and {more} older" if more > 0 else "") + ".")
        if self.note:
            context.append(":information_source: " + escape_mrkdwn(self.note))
        method = "Mann-Whitney U (p < 0.01) and a minimum change per metric"
        if self.history_size >= 3:
            method += f", checked against the last {self.history_size} digests' noise"
        sub = self.subscription
        context.append(f"Digest #{sub.id} · {escape_mrkdwn(sub.schedule)} ({escape_mrkdwn(sub.timezone)}) "
                       f"· `{escape_mrkdwn(sub.prefix)}` · {method} · full report in the thread · "
                       f"Chimera Insight {bot.__version__}")
        blocks += [{"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(t, 3000)}]}
                   for t in context]
        return blocks[:MAX_BLOCKS]


def change_line(change: Change) -> str:
    """``:large_orange_circle: *MAJOR regression* · model `config` · throughput −20.1% (…)``."""
    rule = METRIC_RULES[change.metric]
    icon = _SEVERITY_ICON.get(change.severity, "") if change.direction == REGRESSION \
        else ":large_green_circle:"
    where = escape_mrkdwn(change.model or "(no model)")
    if change.config:
        where += f" `{escape_mrkdwn(change.config).replace('`', chr(39))}`"
    p = f"p={change.p_value:.1g}" if change.p_value is not None else "p=n/a"
    z = f", z={change.z_score:+.1f}" if change.z_score is not None else ""
    return (f"{icon} *{change.severity.upper()} {change.direction}* · {where} · {rule.label} "
            f"{_pct(change.rel_change)} ({format_number(change.baseline_median)} → "
            f"{format_number(change.current_median)} "
            f"{rule.unit} median; {p}{z}, n={change.n_baseline}/{change.n_current})")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}".replace("-", "−")
