"""One scheduled digest: what is new under a subscription's prefix, what changed, one Slack post.

`run_digest(subscription, ...)`:

1. List the archives under the prefix (the `ArchiveSource` port). Archives are ordered by
   *name*: nightly archives carry their date in the name (``nightly/2025-11-14.tar.gz``) and
   ISO dates sort correctly, while modification times change when a folder is copied or touched.
   Numbers inside names compare by value (`archive_order`), so ``run-10`` comes after ``run-9``.
   "New" = named after the newest archive this subscription ever claimed. The newest new one is
   digested; older new ones are named in the message (one digest per fire, never a burst).
2. Claim it with `store.digests.claim_digest` (a unique run key: exactly once across processes),
   for this fire (``fire``, the task of the durable queue that runs it).
3. Analyze it (the pipeline, narrative per ``settings.digest_use_llm``; a crash with the narrative
   on is retried once data-only, so a broken model never blocks the digest).
4. Build its news against the earlier *posted* digests of the same subscription (`bot.core.news`:
   every series judged against its last runs, failures, models and configurations gone or new, units).
5. Post ONE summary message (tagged with the run key), mark it posted at once, then attach the full
   report and the news report in its thread.

Nothing new -> one line, or nothing when the subscription is quiet. Any failure after the claim
marks the run and digest failed and says so in the channel; failures before it propagate to the
caller (`DigestTasks`), which records and reports them the same way.

A fire is a task of the durable queue (`bot.flows.tasks`). When the replica running it dies, the
replica taking it over *resumes* the digest this fire claimed (`store.digests.digest_for_task`):
the archive is not lost to "nothing new". A digest whose message went out before the crash is
closed as posted, never posted twice. One that cannot be redone is reported in the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from bot.core.archives import pick_archive
from bot.core.news import News, Snapshot, build_news
from bot.core.records import Digest, Subscription, Task
from bot.errors import ArchiveError, ChimeraError, SlackCallFailed
from bot.flows.deliver import Delivery, attach, deliver, news_upload, report_uploads
from bot.flows.pipeline import RunResult, RunsAnalyses
from bot.flows.ports import ArchiveSource, RunStore, SlackPoster
from bot.flows.tasks import Lease
from bot.render.digest import DigestView, failure_text, nothing_new_text
from bot.render.narrative import narrative_note
from bot.render.slack_text import escape_mrkdwn

log = logging.getLogger(__name__)

MAX_HISTORY = 10  # earlier digests whose runs form each series' history (the detector's window)
INTERNAL_ERROR = "an internal error (details are in the bot's log)"

DigestStatus = Literal["posted", "nothing new", "quiet", "claimed elsewhere", "inactive", "failed", "handed back"]
POSTED: DigestStatus = "posted"
NOTHING_NEW: DigestStatus = "nothing new"
QUIET: DigestStatus = "quiet"
CLAIMED_ELSEWHERE: DigestStatus = "claimed elsewhere"
INACTIVE: DigestStatus = "inactive"
FAILED: DigestStatus = "failed"
HANDED_BACK: DigestStatus = "handed back"  # this replica stopped, or lost the fire: another one posts


@dataclass(frozen=True)
class DigestOutcome:
    """What one digest run did (for the scheduler's record and for tests)."""

    status: DigestStatus
    archive: str | None = None
    digest_id: int | None = None
    posted_ts: str | None = None
    news: News | None = None  # what the digest said (None when nothing was digested)
    error: str | None = None
    run_id: int | None = None  # the run that holds the digested archive's analysis


@dataclass(frozen=True)
class DigestPorts:
    """What a digest needs from outside: the database, the archives, Slack and the pipeline."""

    store: RunStore
    archives: ArchiveSource
    poster: SlackPoster
    pipeline: RunsAnalyses
    use_llm: bool = False  # settings.digest_use_llm


def run_digest(subscription: Subscription, *, ports: DigestPorts, fire: Lease | None = None) -> DigestOutcome:
    """Digest what is new for ``subscription`` (see the module docstring)."""
    if not subscription.active:
        return DigestOutcome(INACTIVE)
    store = ports.store
    resumed = store.digests.digest_for_task(fire.task.id) if fire is not None else None
    names = [ref.name for ref in ports.archives.list(subscription.prefix)]
    digested = store.digests.digested_archives(subscription.id)
    if resumed is not None:  # this fire claimed an archive before its replica stopped
        return _resume(subscription, resumed, names, digested, ports=ports, fire=fire)
    archive, superseded = pick_archive(names, digested)
    if archive is None:
        if subscription.quiet_when_nothing_new:
            return DigestOutcome(QUIET)
        if fire is not None and not fire.begin_delivery():
            return DigestOutcome(HANDED_BACK)
        ts = ports.poster.post(channel=subscription.channel, text=nothing_new_text(subscription, digested))
        return DigestOutcome(NOTHING_NEW, posted_ts=ts)
    claim = store.digests.claim_digest(subscription.id, archive, task_id=None if fire is None else fire.task.id)
    if claim is None:  # another process (or an overlapping fire) has it
        log.info("digest of %r for subscription %d claimed elsewhere", archive, subscription.id)
        return DigestOutcome(CLAIMED_ELSEWHERE, archive)
    return _digest_claimed(subscription, claim, superseded, ports=ports, fire=fire)


def _resume(subscription: Subscription, claim: Digest, names: list[str], digested: set[str], *,
            ports: DigestPorts, fire: Lease | None) -> DigestOutcome:
    if claim.status != "claimed":  # finished before the crash: only the fire's own record was left
        return DigestOutcome(POSTED if claim.status == "posted" else FAILED, claim.archive, claim.id,
                             claim.posted_ts, error=claim.error, run_id=claim.run_id)
    # The message may be out already (its replica died right after posting it): never post it twice.
    posted_ts = claim.posted_ts or ports.poster.find_marked(
        channel=subscription.channel, marker=claim.run_key, oldest=claim.created_at.timestamp() - 5)
    if posted_ts is not None:
        ports.store.digests.finish_digest(claim.id, status="posted", posted_ts=posted_ts)
        return DigestOutcome(POSTED, claim.archive, claim.id, posted_ts, run_id=claim.run_id)
    log.info("resuming the digest of %r for subscription %d", claim.archive, subscription.id)
    picked, superseded = pick_archive(names, digested - {claim.archive})
    return _digest_claimed(subscription, claim, superseded if picked == claim.archive else [], ports=ports,
                           fire=fire)


def _digest_claimed(subscription: Subscription, claim: Digest, superseded: Sequence[str], *, ports: DigestPorts,
                    fire: Lease | None) -> DigestOutcome:
    store = ports.store
    archive = claim.archive
    try:
        return _digest_archive(subscription, claim, superseded, ports=ports, fire=fire)
    except Exception as err:  # every failure after the claim is recorded and reported, never lost
        if fire is not None and not fire.begin_delivery():
            log.info("digest of %r failed after its fire was handed back: %s", archive, err)
            return DigestOutcome(HANDED_BACK, archive, claim.id)
        reason = user_reason(err)
        log.exception("digest of %r for subscription %d failed", archive, subscription.id)
        record_failure(store, claim, reason)
        report_failure(ports.poster, subscription, reason, archive=archive)
        return DigestOutcome(FAILED, archive, claim.id, error=reason, run_id=claim.run_id)


def user_reason(err: BaseException) -> str:
    """A short, user-facing reason: our own errors say what happened, anything else does not leak."""
    return str(err) if isinstance(err, ChimeraError) and str(err) else INTERNAL_ERROR


def record_failure(store: RunStore, claim: Digest, reason: str) -> None:
    """Mark the claimed digest and its run failed; a database that fails here too is logged."""
    try:
        if claim.run_id is not None:
            store.runs.finish_run(claim.run_id, status="failed", error=reason)
    except Exception:
        log.exception("could not record the failure of digest run %s", claim.run_id)
    try:
        store.digests.finish_digest(claim.id, status="failed", error=reason)
    except Exception:
        log.exception("could not record the failure of digest %d", claim.id)


def report_failure(poster: SlackPoster, subscription: Subscription, reason: str, *, archive: str | None) -> None:
    """Tell the channel; when Slack is the thing that failed, the log is all that is left."""
    try:
        poster.post(channel=subscription.channel, text=failure_text(subscription, reason, archive=archive))
    except SlackCallFailed:
        log.exception("could not report the failed digest to %s", subscription.channel)


def _digest_archive(subscription: Subscription, claim: Digest, superseded: Sequence[str], *,
                    ports: DigestPorts, fire: Lease | None = None) -> DigestOutcome:
    assert claim.run_id is not None  # claim_digest always creates the run
    store = ports.store
    archive = claim.archive
    store.runs.start_run(claim.run_id)
    result = _analyze(archive, ports=ports)
    current = result.ingest.measurements
    previous = store.digests.previous_digest_runs(subscription.id, limit=MAX_HISTORY)
    earlier = [Snapshot(run.archive, store.runs.load_measurements(run.id)) for run in reversed(previous)]
    news = build_news(Snapshot(archive, current), earlier)  # oldest first; none: the first digest
    store.runs.finish_run(claim.run_id, status="done", summary=result.data, report_md=result.report_md,
                          timings=result.timings_s, measurements=result.ingest.stored_measurements())

    narrative = result.narrative
    view = DigestView(subscription=subscription, archive=archive, news=news, superseded=list(superseded),
                      headline=result.headline, note=narrative_note(narrative))
    uploads = report_uploads(result, chart=False)
    if news.baseline is not None:
        uploads.append(news_upload(news, title=f"Digest news: {archive} since {news.baseline}"))

    def explain_upload(err: SlackCallFailed, *, thread_ts: str) -> None:
        # the digest itself is out; say in its thread what is missing
        log.warning("digest report upload failed: %s", err.code)
        ports.poster.post(channel=subscription.channel, thread_ts=thread_ts,
                          text=f":warning: I couldn't attach the full report: {err} "
                               f"`/chimera analyze {escape_mrkdwn(archive)}` posts it again.")

    if fire is not None and not fire.begin_delivery():  # handed back or taken over: the holder posts
        return DigestOutcome(HANDED_BACK, archive, claim.id, run_id=claim.run_id)
    ts = deliver(ports.poster, Delivery(channel=subscription.channel, text=view.fallback_text(), blocks=view.blocks(),
                                        marker=claim.run_key))
    # Recorded at once: a replica taking the fire over from here closes it instead of posting again.
    store.digests.finish_digest(claim.id, status="posted", posted_ts=ts)
    attach(ports.poster, channel=subscription.channel, ts=ts, uploads=uploads, on_upload_failure=explain_upload)
    return DigestOutcome(POSTED, archive, claim.id, ts, news, run_id=claim.run_id)


def _analyze(archive: str, *, ports: DigestPorts) -> RunResult:
    use_llm = ports.use_llm
    try:
        return ports.pipeline.run(archive, use_llm=use_llm, allow_local_paths=False)
    except ArchiveError:
        raise
    except Exception:
        if not use_llm:
            raise
        # The pipeline promises that narrative problems never raise; if one does anyway, the
        # numbers still deserve their digest.
        log.exception("digest analysis of %r crashed with the narrative on; retrying data-only", archive)
        return ports.pipeline.run(archive, use_llm=False, allow_local_paths=False)


def outcome_record(outcome: DigestOutcome) -> dict[str, Any]:
    """What a fire did, as plain JSON (stored with its task)."""
    record = asdict(replace(outcome, news=None))
    news = outcome.news
    record["news"] = None if news is None else {
        "baseline": news.baseline, "items": len(news.items),
        "worst": None if news.worst is None else f"{news.worst.level} {news.worst.kind}"}
    return record


class DigestTasks:
    """The `bot.flows.tasks.TaskHandler` for digest fires (tasks queued by the scheduler)."""

    def __init__(self, ports: DigestPorts) -> None:
        self.ports = ports

    def run(self, lease: Lease) -> dict[str, Any] | None:
        store, poster = self.ports.store, self.ports.poster
        subscription = store.subscriptions.get_subscription(int(lease.task.payload["subscription_id"]))
        if subscription is None or not subscription.active:
            return outcome_record(DigestOutcome(INACTIVE))
        try:
            outcome = run_digest(subscription, ports=self.ports, fire=lease)
        except Exception as err:  # before any archive was claimed: tell the channel
            if not lease.begin_delivery():
                return outcome_record(DigestOutcome(HANDED_BACK))
            reason = user_reason(err)
            log.exception("digest %d failed", subscription.id)
            report_failure(poster, subscription, reason, archive=None)
            outcome = DigestOutcome(FAILED, error=reason)
        return outcome_record(outcome)

    def interrupt(self, lease: Lease) -> None:
        """Nothing is visible before the digest posts: the fire just goes back to the queue."""

    def give_up(self, task: Task, reason: str) -> None:
        store, poster = self.ports.store, self.ports.poster
        subscription = store.subscriptions.get_subscription(int(task.payload["subscription_id"]))
        if subscription is None:
            return
        claim = store.digests.digest_for_task(task.id)
        posted_ts = None
        if claim is not None and claim.status == "claimed":
            posted_ts = claim.posted_ts or poster.find_marked(channel=subscription.channel, marker=claim.run_key,
                                                              oldest=claim.created_at.timestamp() - 5)
        if claim is not None and posted_ts is not None:  # it went out before the crash: it is posted
            store.digests.finish_digest(claim.id, status="posted", posted_ts=posted_ts)
            return
        if claim is not None and claim.status == "claimed":
            record_failure(store, claim, f"interrupted: {reason}")
        report_failure(poster, subscription, f"{reason}; it was not finished", archive=claim.archive if claim else None)
