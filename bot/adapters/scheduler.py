"""Digest scheduling: APScheduler 3 with its jobs in the bot's own database.

One job per subscription (id ``digest-<subscription id>``) in a `SQLAlchemyJobStore` on
``settings.database_url``, so schedules survive restarts. Job defaults come from
`bot.adapters.cron.scheduler_job_defaults` (coalesce, 15-minute misfire grace): a restart never posts a
burst of stale digests.

Job stores pickle the job's function *by reference*, so the job function is the module-level
`fire_digest(subscription_id)`, and what it needs at run time (the store, Slack, the pipeline, the
scheduled fire time) reaches it through `DigestExecutor`, which runs each job with that context.
That keeps two schedulers in one process (tests) or two processes apart, each with its own
resources, while they share one job table.

Exactly once: every process sharing the database runs the same jobs, so a fire only *queues* the
digest as a task of the durable queue under the key ``digest-fire:<subscription>:<scheduled UTC
time>``: the first replica to insert it wins, the others find the key taken. Any replica's task
runner then runs it under a lease (`bot.flows.tasks`, `bot.flows.digest.DigestTasks`), so a
replica dying mid-digest hands the fire to another instead of losing it, and
`store.digests.claim_digest` still guards each archive.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import pickle
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy.dialects import postgresql, sqlite

from bot.adapters.cron import build_trigger, scheduler_job_defaults
from bot.adapters.db.engine import make_engine
from bot.core.records import Subscription, Task
from bot.core.schedules import parse_schedule
from bot.errors import ChimeraError, ScheduleError
from bot.flows.digest import DigestPorts, report_failure
from bot.settings import Settings

log = logging.getLogger(__name__)

JOB_PREFIX = "digest-"
POLL_JOB_ID = "digest-poll"
# Another process may add jobs to the shared table; waking up this often picks them up even when
# this process has no fire of its own due sooner.
POLL_INTERVAL_S = 60
# A run still 'queued'/'running' after this long, and covered by no task of the durable queue,
# belongs to a process that died before there was a queue (an older version); at start-up it is
# marked failed and, for a digest, reported in its channel. Runs with a task are the queue's.
STALE_AFTER = timedelta(hours=2)
DIGEST_WORKERS = 2

_context = threading.local()


def job_id(subscription_id: int) -> str:
    return f"{JOB_PREFIX}{subscription_id}"


def fire_key(subscription_id: int, fire_time: datetime) -> str:
    """The run key of one scheduled fire; the same in every process for the same fire."""
    return f"digest-fire:{subscription_id}:{fire_time.astimezone(UTC).isoformat()}"


def fire_digest(subscription_id: int) -> str:
    """The job function (stored by reference as ``bot.adapters.scheduler:fire_digest``)."""
    owner: DigestScheduler | None = getattr(_context, "owner", None)
    fire_time: datetime | None = getattr(_context, "fire_time", None)
    if owner is None or fire_time is None:
        raise RuntimeError("fire_digest runs only on a DigestExecutor")
    return "queued" if owner.fire(subscription_id, fire_time) else "skipped"


def _poll_job_store() -> None:
    """No-op interval job: its only purpose is to wake the scheduler (see POLL_INTERVAL_S)."""


class MigratedJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store on the table the migrations made (0003_apscheduler_jobs).

    - ``start`` creates nothing (the stock store runs ``CREATE TABLE … IF NOT EXISTS`` logic there,
      which is what raced when replicas started together);
    - ``add_job`` inserts with ``ON CONFLICT DO NOTHING``: two replicas scheduling the same job is
      an ordinary outcome (`ConflictingIdError`, which ``replace_existing`` turns into an update),
      not an ERROR line in the PostgreSQL log.
    """

    def start(self, scheduler: Any, alias: str) -> None:
        BaseJobStore.start(self, scheduler, alias)

    def add_job(self, job: Any) -> None:
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(self.jobs_t).values(
            id=job.id, next_run_time=datetime_to_utc_timestamp(job.next_run_time),
            job_state=pickle.dumps(job.__getstate__(), self.pickle_protocol),
        ).on_conflict_do_nothing(index_elements=["id"]).returning(self.jobs_t.c.id)
        with self.engine.begin() as connection:
            if connection.execute(stmt).first() is None:
                raise ConflictingIdError(job.id)


class DigestExecutor(BasePoolExecutor):
    """A thread-pool executor that runs each job with its scheduler and scheduled time in context.

    `_do_submit_job` is APScheduler 3's extension point for executors; like the stock pool
    executors we hand `run_job` to a pool, one scheduled time at a time (with coalescing there
    is only ever one), so `fire_digest` knows which fire it is.
    """

    def __init__(self, owner: DigestScheduler, *, max_workers: int = DIGEST_WORKERS) -> None:
        super().__init__(concurrent.futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix="chimera-digest"))
        self._owner = owner

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def done(future: concurrent.futures.Future[list[Any]]) -> None:
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(_run_in_context, self._owner, job, job._jobstore_alias, run_times,
                                   self._logger.name)
        future.add_done_callback(done)


def _run_in_context(owner: DigestScheduler, job: Any, alias: str, run_times: list[datetime],
                    logger_name: str) -> list[Any]:
    events: list[Any] = []
    _context.owner = owner
    try:
        for run_time in run_times:
            _context.fire_time = run_time
            events.extend(run_job(job, alias, [run_time], logger_name))
    finally:
        _context.owner = _context.fire_time = None
    return events


class DigestScheduler:
    """The digest jobs of one bot process. `start` reconciles jobs with active subscriptions."""

    def __init__(self, *, settings: Settings, ports: DigestPorts, wake: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.ports = ports
        self.store = ports.store
        self._wake = wake  # the task runner: a fire queued here starts here at once
        self._engine = make_engine(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s,
                                   connect_timeout_s=settings.database_connect_timeout_s)
        jobstore = MigratedJobStore(engine=self._engine)
        self._scheduler = BackgroundScheduler(
            jobstores={"default": jobstore, "memory": MemoryJobStore()},
            executors={"default": DigestExecutor(self)},
            job_defaults=scheduler_job_defaults(),
            timezone=UTC,
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Report digests a dead process left behind, bring the jobs in line with the active
        subscriptions, then start firing. (The job table comes from the migrations.)"""
        self._scheduler.start(paused=True)
        self.recover_interrupted()
        self.reconcile()
        self._scheduler.add_job(_poll_job_store, "interval", seconds=POLL_INTERVAL_S, id=POLL_JOB_ID,
                                jobstore="memory", replace_existing=True)
        self._scheduler.resume()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop firing; with ``wait``, let running digests finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        self._engine.dispose()

    def wakeup(self) -> None:
        """Look at the job table now (e.g. after the clock moved in a test)."""
        self._scheduler.wakeup()

    # --- jobs ---------------------------------------------------------------------------------
    def add(self, subscription: Subscription) -> datetime | None:
        """Schedule (or re-schedule) the subscription's job; returns its next fire time.

        Before `start` this does nothing: `start` schedules every active subscription (`reconcile`).
        """
        if not self._scheduler.running:
            return None
        spec = parse_schedule(subscription.schedule, prefix=subscription.prefix,
                              timezone=subscription.timezone)
        job = self._scheduler.add_job(
            fire_digest, trigger=build_trigger(spec), args=[subscription.id],
            id=job_id(subscription.id), name=f"digest #{subscription.id}", replace_existing=True,
        )
        return job.next_run_time

    def remove(self, subscription_id: int) -> bool:
        """Unschedule; before `start` nothing is scheduled (`reconcile` drops removed subscriptions)."""
        if not self._scheduler.running:
            return False
        try:
            self._scheduler.remove_job(job_id(subscription_id), jobstore="default")
            return True
        except JobLookupError:  # never scheduled here, or another process removed it first
            return False

    def next_run_time(self, subscription_id: int) -> datetime | None:
        job = self._scheduler.get_job(job_id(subscription_id), jobstore="default")
        return job.next_run_time if job else None

    def job_ids(self) -> list[str]:
        return sorted(j.id for j in self._scheduler.get_jobs(jobstore="default"))

    def reconcile(self) -> None:
        """One job per active subscription, none for others. Existing jobs keep their next fire
        time, so a fire that fell due while the bot was down still runs (within the grace)."""
        active = {job_id(s.id): s for s in self.store.subscriptions.list_subscriptions()}
        existing = {j.id for j in self._scheduler.get_jobs(jobstore="default")}
        for jid, subscription in active.items():
            if jid not in existing:
                try:
                    self.add(subscription)
                except ScheduleError:
                    log.error("subscription %d has an unusable stored schedule %r; not scheduled",
                              subscription.id, subscription.schedule)
        for jid in existing - set(active):
            if jid.startswith(JOB_PREFIX):
                log.info("removing job %s: its subscription is gone", jid)
                with contextlib.suppress(JobLookupError):
                    self._scheduler.remove_job(jid, jobstore="default")

    def recover_interrupted(self) -> None:
        """Digests left 'claimed' by a process that died are marked failed and reported."""
        before = datetime.now(UTC) - STALE_AFTER
        reason = "the bot stopped while this digest was running"
        try:
            runs = self.store.runs.fail_stale_runs(before=before, error=reason)
        except ChimeraError:
            log.exception("could not check for interrupted runs")
            return
        for run in runs:
            if run.trigger != "schedule" or not run.channel:
                continue
            digest = self.store.digests.digest_for_run(run.id)
            subscription = self.store.subscriptions.get_subscription(digest.subscription_id) if digest else None
            if digest is not None and subscription is not None:
                report_failure(self.ports.poster, subscription, reason + ".", archive=digest.archive)

    # --- one fire -----------------------------------------------------------------------------
    def fire(self, subscription_id: int, fire_time: datetime) -> Task | None:
        """Queue the digest of one scheduled fire, unless another process already queued it.

        Returns the queued task, or None when there was nothing to do here (removed
        subscription, fire taken). The digest itself runs on a task runner (any replica's).
        """
        subscription = self.store.subscriptions.get_subscription(subscription_id)
        if subscription is None or not subscription.active:
            log.info("subscription %d is gone; dropping its job", subscription_id)
            self.remove(subscription_id)
            return None
        task = self.store.tasks.enqueue(
            kind="digest", key=fire_key(subscription_id, fire_time), channel=subscription.channel,
            payload={"subscription_id": subscription_id, "fire_time": fire_time.astimezone(UTC).isoformat()})
        if task is None:
            log.info("fire of digest %d at %s taken by another process", subscription_id, fire_time)
            return None
        self._wake()
        return task
