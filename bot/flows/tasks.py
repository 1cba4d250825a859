"""Running the durable work queue: claim, lease, heartbeat, take over, give up, hand back.

Every replica runs one `TaskRunner`. Requests (analyses, thread answers, digest fires) are rows in
the database (`bot.flows.ports.Tasks`), queued before Slack gets its acknowledgement, so a request
outlives the replica that accepted it:

- one *dispatcher* thread claims tasks for the kinds that have a free local worker (woken at once
  by a local request, otherwise polling every ``poll_s``) and hands each to that kind's workers;
- a *heartbeat* thread extends the leases of what this replica runs every ``heartbeat_s``, says the
  replica is alive, and ends the leases of owners it knows are dead (same host, process gone), so
  a restarted single process resumes its own work at once instead of after ``lease_s``;
- a task whose owner stopped heartbeating is claimed again once its lease runs out (within
  ``lease_s + poll_s``): the handler *resumes* it (`Lease.resumed`: it edits the Slack message the
  dead replica left, which `Lease.remember_message` recorded) — or, after ``max_attempts``
  claims, *gives it up* honestly (`TaskHandler.give_up`: the stuck message says so, the user is
  told to run it again, the run is closed as failed);
- `shutdown` (SIGTERM) stops claiming, lets running tasks finish within the grace, and hands the
  rest back to the queue (`TaskHandler.interrupt` says in Slack that it will continue): queued
  work is not cancelled, another replica or this one after its restart carries on.

Every write a worker makes to its task is fenced by (owner, attempt), so a replica that lost its
lease cannot deliver a result another replica is delivering too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from bot.core.records import Task
from bot.errors import ChimeraError
from bot.flows.ports import Replicas, SlackPoster, Tasks

log = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")

GIVE_UP_REASON = "the bot stopped while working on it"


@dataclass(frozen=True)
class QueueSettings:
    lease_s: float = 30.0
    heartbeat_s: float = 10.0
    poll_s: float = 1.0
    max_attempts: int = 2
    maintenance_s: float = 3600.0
    keep_events: timedelta = timedelta(hours=24)
    keep_tasks: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Me:
    """This replica: its id (the owner written on its tasks), and how to tell a dead owner."""

    id: str
    host: str
    pid: int
    owner_is_gone: Callable[[str], bool]


class Lease:
    """A claimed task, as its worker sees it.

    Its phase guards the task's Slack message against two threads: the worker (progress edits,
    then the result) and `TaskRunner.shutdown` (which hands the task back and says it will
    continue). ``working`` -> ``delivering`` (`begin_delivery`: the result goes out, shutdown waits
    for nobody and leaves it alone) or ``cancelled`` (`cancel`: handed back; the worker's later
    edits become no-ops, so nothing overwrites the "will continue" notice).
    """

    def __init__(self, task: Task, *, tasks: Tasks, owner: str) -> None:
        self.task = task
        self._tasks = tasks
        self._owner = owner
        self._lock = threading.Lock()
        self._phase = "working"

    @property
    def resumed(self) -> bool:
        """Another replica (or this one before a restart) started this task: its message exists."""
        return self.task.message_ts is not None or self.task.previous_owner is not None

    @property
    def cancelled(self) -> bool:
        with self._lock:
            return self._phase == "cancelled"

    def while_working(self, action: Callable[[], None]) -> bool:
        """Run ``action`` (a Slack edit) only while the task is still being worked on here."""
        with self._lock:
            if self._phase != "working":
                return False
            action()
            return True

    def begin_delivery(self) -> bool:
        """From now on the result goes out: False when the task was handed back or taken over (then
        the worker drops its result: whoever holds the task delivers it)."""
        if not self.holds():
            return False
        with self._lock:
            if self._phase != "working":
                return False
            self._phase = "delivering"
            return True

    def cancel(self, announce: Callable[[], None] | None = None) -> bool:
        """Hand the task back (this replica is stopping), running ``announce`` first under the
        lock; False when it is already delivering (let it finish)."""
        with self._lock:
            if self._phase != "working":
                return False
            self._phase = "cancelled"
            if announce is not None:
                try:
                    announce()
                except Exception:
                    log.exception("could not announce that task %d will continue", self.task.id)
            return True

    def remember_message(self, *, channel: str, ts: str) -> None:
        """Record the Slack message the task shows itself in, so a take-over edits the same one.
        A database problem is logged: the task goes on, only a take-over would post anew."""
        try:
            self._tasks.set_message(self.task.id, owner=self._owner, attempt=self.task.attempt, channel=channel,
                                    ts=ts)
        except ChimeraError as err:
            log.warning("could not record the message of task %d: %s", self.task.id, err)

    def attach_run(self, run_id: int) -> None:
        """Record the run this task produces (a take-over continues that run)."""
        try:
            self._tasks.set_run(self.task.id, owner=self._owner, attempt=self.task.attempt, run_id=run_id)
        except ChimeraError as err:
            log.warning("could not link run %d to task %d: %s", run_id, self.task.id, err)

    def holds(self) -> bool:
        """Is the task still ours? False once handed back or taken over. When the database cannot
        say, the answer is yes: nobody can have taken it over through a database that is
        unreachable, and a result is worth more than the small risk of a duplicate."""
        if self.cancelled:
            return False
        try:
            return self._tasks.holds(self.task.id, owner=self._owner, attempt=self.task.attempt)
        except ChimeraError as err:
            log.warning("could not confirm the lease of task %d: %s", self.task.id, err)
            return True


def message_of(task: Task, poster: SlackPoster, *, channel: str, thread_ts: str | None = None) -> str | None:
    """The Slack message ``task`` shows itself in: the one a worker recorded, the one posted at
    the ack, or — when a replica died between posting it and recording it (or the post at the ack
    outlasted its wait) — the one Slack holds tagged with the task's key. None when there is none
    (the task never got that far)."""
    if task.message_ts is not None:
        return task.message_ts
    if task.ack_ts is not None:
        return task.ack_ts
    if task.attempt <= 1 and task.previous_owner is None and task.ack_until is None:
        return None  # first attempt, nothing posted at the ack: nobody posted anything yet
    return poster.find_marked(channel=channel, marker=task.key, oldest=task.created_at.timestamp() - 5,
                              thread_ts=thread_ts)


class TaskHandler(Protocol):
    """What a kind of task does (`bot.flows.analysis_job`, `thread_answer`, `digest`)."""

    def run(self, lease: Lease) -> dict[str, Any] | None:
        """Do (or resume) the work; report problems to the people waiting; never raise for them.
        Returns what happened (stored with the task)."""
        ...

    def give_up(self, task: Task, reason: str) -> None:
        """The task cannot be redone: finish its records and tell the people waiting."""
        ...

    def interrupt(self, lease: Lease) -> None:
        """This replica is stopping and hands the task back: say in Slack that it will continue.
        Called under the lease's lock (`Lease.cancel`): quick, and never through the lease."""
        ...


class RunningJobs(Generic[J]):
    """The jobs this replica is running, by task id: a handler's `interrupt` finds its job here."""

    def __init__(self) -> None:
        self._jobs: dict[int, J] = {}
        self._lock = threading.Lock()

    def run(self, task_id: int, job: J, work: Callable[[], R]) -> R:
        """``work()`` with ``job`` registered under ``task_id`` while it runs."""
        with self._lock:
            self._jobs[task_id] = job
        try:
            return work()
        finally:
            with self._lock:
                self._jobs.pop(task_id, None)

    def get(self, task_id: int) -> J | None:
        with self._lock:
            return self._jobs.get(task_id)


@dataclass(frozen=True)
class RunnerStatus:
    """This replica's workers: per kind, how many there are and how many are busy."""

    workers: Mapping[str, int]
    busy: Mapping[str, int]


@dataclass
class _Pool:
    workers: int
    executor: ThreadPoolExecutor
    busy: int = 0
    leases: dict[int, Lease] = field(default_factory=dict)


class TaskRunner:
    """``workers``: how many tasks of each kind run here at once. ``lanes``: kinds that run on
    another kind's workers (a comparison on the analysis workers): they share its pool, its queue
    limit and its line in ``status``."""

    def __init__(self, *, tasks: Tasks, replicas: Replicas, me: Me, settings: QueueSettings,
                 workers: Mapping[str, int], lanes: Mapping[str, str] | None = None,
                 maintenance: Callable[[], None] | None = None) -> None:
        self._tasks = tasks
        self._replicas = replicas
        self.me = me
        self.settings = settings
        self._handlers: dict[str, TaskHandler] = {}
        self._pools = {kind: _Pool(n, ThreadPoolExecutor(n, thread_name_prefix=f"chimera-{kind}"))
                       for kind, n in workers.items()}
        self._lanes = {kind: lane for kind, lane in (lanes or {}).items() if lane in self._pools}
        self._queued: dict[str, int] = {}  # per pool: tasks waiting fleet-wide, as last seen
        self._maintenance = maintenance
        self._cond = threading.Condition()
        self._woken = False
        self._stopping = threading.Event()
        self._started = False
        self._threads: list[threading.Thread] = []
        self._complained_at = 0.0
        self._others_workers = 0  # analysis workers of the other live replicas, as of the last beat

    # --- wiring and lifecycle -----------------------------------------------------------------
    def handle(self, kind: str, handler: TaskHandler) -> None:
        if self.lane(kind) not in self._pools:
            raise ValueError(f"no workers configured for {kind!r} tasks")
        self._handlers[kind] = handler

    def lane(self, kind: str) -> str:
        """The pool whose workers run ``kind``."""
        return self._lanes.get(kind, kind)

    def kinds_of(self, lane: str) -> tuple[str, ...]:
        """Every kind that runs on ``lane``'s workers (counted together against its queue limit)."""
        return (lane, *sorted(k for k, pool in self._lanes.items() if pool == lane and k != lane))

    @property
    def running(self) -> bool:
        return self._started and not self._stopping.is_set()

    def start(self) -> None:
        """Say we are alive, end the leases of dead predecessors, then claim and heartbeat."""
        if self._started:
            return
        self._started = True
        self._beat()
        self._threads = [threading.Thread(target=self._dispatch_loop, name="chimera-dispatch", daemon=True),
                         threading.Thread(target=self._heartbeat_loop, name="chimera-heartbeat", daemon=True)]
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Something was queued here: claim now instead of at the next poll."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def status(self) -> RunnerStatus:
        with self._cond:
            return RunnerStatus(workers={k: p.workers for k, p in self._pools.items()},
                                busy={k: p.busy for k, p in self._pools.items()})

    def note_queued(self, lane: str, queued: int) -> None:
        """Intake saw ``queued`` tasks waiting in ``lane`` (fleet-wide)."""
        with self._cond:
            self._queued[lane] = queued

    def queued(self, lane: str = "analysis") -> int:
        """Tasks waiting in ``lane``, fleet-wide, as last seen (by a heartbeat or an intake)."""
        with self._cond:
            return self._queued.get(lane, 0)

    def saturated(self, lane: str, *, max_queue: int) -> bool:
        """Every local worker of ``lane`` busy and its queue full (as last seen): the next request
        is refused, or waits behind a full line."""
        with self._cond:
            pool = self._pools.get(lane)
            return pool is not None and pool.busy >= pool.workers and self._queued.get(lane, 0) >= max_queue

    def fleet_workers(self) -> int:
        """Analysis workers of every live replica, this one included (as of the last heartbeat)."""
        pool = self._pools.get("analysis")
        return (pool.workers if pool else 0) + self._others_workers

    def shutdown(self, *, grace_s: float = 25.0) -> list[Task]:
        """Stop claiming; give running tasks ``grace_s`` to finish; hand the others back to the
        queue (their handlers say so in Slack). Returns the tasks handed back."""
        self._stopping.set()
        self.wake()
        deadline = time.monotonic() + grace_s
        with self._cond:
            while any(p.busy for p in self._pools.values()) and time.monotonic() < deadline:
                self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
            unfinished = [lease for pool in self._pools.values() for lease in pool.leases.values()]
        handed_back = []
        for lease in unfinished:
            handler = self._handlers[lease.task.kind]
            if not lease.cancel(announce=partial(handler.interrupt, lease)):
                continue  # delivering its result: let it finish
            try:
                if self._tasks.release(lease.task.id, owner=self.me.id, attempt=lease.task.attempt):
                    handed_back.append(lease.task)
            except ChimeraError as err:  # its lease runs out instead; another replica resumes it
                log.warning("could not hand task %d back to the queue: %s", lease.task.id, err)
        for pool in self._pools.values():
            pool.executor.shutdown(wait=False, cancel_futures=True)
        try:
            self._replicas.stop(self.me.id)
        except ChimeraError as err:
            log.warning("could not record that this replica stopped: %s", err)
        if handed_back:
            log.info("handed %d unfinished task(s) back to the queue", len(handed_back))
        return handed_back

    # --- claiming -----------------------------------------------------------------------------
    def _free_kinds(self) -> list[str]:
        with self._cond:
            free = {lane for lane, p in self._pools.items() if p.busy < p.workers}
            return sorted(k for k in self._handlers if self.lane(k) in free)

    def _dispatch_loop(self) -> None:
        backoff = self.settings.poll_s
        while not self._stopping.is_set():
            kinds = self._free_kinds()
            task = None
            if kinds:
                try:
                    task = self._tasks.claim(kinds=kinds, owner=self.me.id, lease_s=self.settings.lease_s)
                    backoff = self.settings.poll_s
                except ChimeraError as err:  # the database is unreachable: try again, less often
                    self._complain(f"cannot claim work: {err}")
                    self._sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
            if task is None:
                self._sleep(self.settings.poll_s)
                continue
            self._start(task)

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            if not self._woken and not self._stopping.is_set():
                self._cond.wait(timeout=seconds)
            self._woken = False

    def _start(self, task: Task) -> None:
        lease = Lease(task, tasks=self._tasks, owner=self.me.id)
        pool = self._pools[self.lane(task.kind)]
        with self._cond:
            pool.busy += 1
            pool.leases[task.id] = lease
            if task.previous_owner is None and self._queued.get(self.lane(task.kind)):
                self._queued[self.lane(task.kind)] -= 1  # one fewer waiting (until the next count)
        if task.previous_owner:
            log.info("taking over %s task %d from %s (attempt %d)", task.kind, task.id, task.previous_owner,
                     task.attempt)
        try:
            pool.executor.submit(self._execute, lease)
        except RuntimeError:  # shutting down: the lease runs out and another replica takes it
            self._done(lease)

    def _execute(self, lease: Lease) -> None:
        task = lease.task
        handler = self._handlers[task.kind]
        state, error, outcome = "done", None, None
        try:
            if task.attempt > self.settings.max_attempts:
                log.warning("giving up %s task %d after %d attempts", task.kind, task.id, task.attempt - 1)
                state, error = "failed", f"interrupted: {GIVE_UP_REASON}"
                handler.give_up(task, GIVE_UP_REASON)
            else:
                outcome = handler.run(lease)
        except Exception:  # a handler must never kill its worker; it reports its own errors
            log.exception("%s task %d crashed", task.kind, task.id)
            state, error = "failed", "internal error (see the bot's log)"
        finally:
            if not lease.cancelled:
                self._finish(task, state, error, outcome)
            self._done(lease)

    def _finish(self, task: Task, state: str, error: str | None, outcome: dict[str, Any] | None) -> None:
        delay = 0.5
        for _ in range(8):  # ~1 minute: the database may be restarting
            try:
                if not self._tasks.finish(task.id, owner=self.me.id, attempt=task.attempt, state=state, error=error,
                                          outcome=outcome):
                    log.warning("task %d was taken over before it finished here", task.id)
                return
            except ChimeraError as err:
                self._complain(f"cannot record the end of task {task.id}: {err}")
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, 10.0)

    def _done(self, lease: Lease) -> None:
        with self._cond:
            pool = self._pools[self.lane(lease.task.kind)]
            pool.busy -= 1
            pool.leases.pop(lease.task.id, None)
            self._woken = True  # a worker is free: claim again now
            self._cond.notify_all()

    # --- heartbeat ----------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        next_maintenance = time.monotonic()  # once at start, then every maintenance_s
        while not self._stopping.wait(self.settings.heartbeat_s):
            self._beat()
            if self._maintenance is not None and time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + self.settings.maintenance_s
                try:
                    self._maintenance()
                except Exception:
                    log.exception("maintenance failed")

    def _beat(self) -> None:
        """Alive; keep our leases; end the leases of owners we know are dead."""
        try:
            workers = self._pools["analysis"].workers if "analysis" in self._pools else 0
            self._replicas.beat(self.me.id, host=self.me.host, pid=self.me.pid, workers=workers)
            self._tasks.heartbeat(owner=self.me.id, lease_s=self.settings.lease_s)
            self._others_workers = sum(r.workers for r in self._replicas.live(within_s=self.settings.lease_s)
                                       if r.id != self.me.id)
            for lane in self._pools:
                self.note_queued(lane, self._tasks.counts(self.kinds_of(lane))["queued"])
            expired = 0
            for owner in self._tasks.running_owners():
                if owner != self.me.id and self.me.owner_is_gone(owner):
                    expired += self._tasks.expire_owner(owner)
                    log.info("replica %s is gone: its tasks can be taken over now", owner)
            if expired:
                self.wake()
        except ChimeraError as err:
            self._complain(f"heartbeat failed: {err}")

    def _complain(self, message: str) -> None:
        """Log a database problem at most every 10 s (a worker retries it much more often)."""
        now = time.monotonic()
        if now - self._complained_at >= 10.0:
            self._complained_at = now
            log.warning("%s", message)


def prune_old_records(*, tasks: Tasks, replicas: Replicas, events: Any, settings: QueueSettings) -> None:
    """Forget what no longer matters: answered event ids past Slack's retry window (kept a day),
    finished tasks (a week), replicas gone for a day."""
    now = datetime.now(UTC)
    pruned = {
        "events": events.prune_events(before=now - settings.keep_events),
        "tasks": tasks.prune(before=now - settings.keep_tasks),
        "replicas": replicas.prune(before=now - timedelta(days=1)),
    }
    if any(pruned.values()):
        log.info("pruned %s", ", ".join(f"{n} {what}" for what, n in pruned.items()))
