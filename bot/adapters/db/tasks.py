"""The durable work queue: tasks claimed with a lease, kept alive by heartbeat, taken over when
their owner dies.

Every replica (bot process) sharing the database claims from the same table:

- `enqueue` inserts a request under a unique ``key`` (the Slack event or the schedule fire it
  came from): a second insert of the same key is a quiet ``None``, so a request is queued once
  however many replicas see it.
- `claim` takes the oldest task that is queued, or running with an expired lease (its owner
  stopped heartbeating: it died), sets the caller as owner with a fresh lease and counts the
  attempt. PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so replicas never wait on each other;
  SQLite: the claim runs under the write lock (BEGIN IMMEDIATE), one at a time.
- `heartbeat` extends the leases of everything the caller runs.
- A task queued with ``announce_s`` waits that long at most for the Slack message posted right
  after the ack (`set_ack_message`; `clear_ack_wait` when that post failed): it is not claimed
  meanwhile, so the worker carries on in that message instead of posting a second one.
- Every write a worker makes to its task is *fenced* by (owner, attempt): a replica that lost its
  lease (it stalled past the lease and another replica took over) can no longer record a message,
  finish or release the task; its late result is dropped instead of delivered twice.

Times are the replicas' own UTC clocks: keep them synchronised (NTP), well within the lease.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from bot.adapters.db.convert import new_run_values, task_record
from bot.adapters.db.database import Database, insert_if_absent, require_aware
from bot.adapters.db.frames import json_document
from bot.adapters.db.runs import RUNS
from bot.adapters.db.schema import TaskRow, utcnow
from bot.core.records import FINISHED_TASK_STATES, TASK_KINDS, Queued, Task

TASKS = TaskRow.metadata.tables[TaskRow.__tablename__]
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # an expired lease, whatever the clocks say


def _fenced(task_id: int, owner: str, attempt: int) -> Any:
    return and_(TaskRow.id == task_id, TaskRow.owner == owner, TaskRow.attempt == attempt,
                TaskRow.state == "running")


class TaskRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- intake ------------------------------------------------------------------------------
    def enqueue(self, *, kind: str, key: str, payload: dict[str, Any], channel: str | None = None,
                run: dict[str, Any] | None = None) -> Task | None:
        """Queue a task; None when a task with ``key`` exists already (any replica, any state)."""
        return self.queue(kind=kind, key=key, payload=payload, channel=channel, run=run).task

    def queue(self, *, kind: str, key: str, payload: dict[str, Any], channel: str | None = None,
              run: dict[str, Any] | None = None, admit: Callable[[int, int], bool] | None = None,
              lane: Sequence[str] = (), announce_s: float | None = None) -> Queued:
        """Queue a task, in one transaction, and say where it stands.

        - ``key`` taken (any replica, any state): nothing is written, ``duplicate``;
        - ``admit(queued, running)`` (the tasks of this kind — or of every kind in ``lane``, those
          that share its workers — waiting and running now) says no: nothing is written, ``refused``;
        - ``run`` (archive, trigger, channel, user) also records the run the task will produce, so
          a thread question finds it from the moment the task exists;
        - ``announce_s``: a message is about to be posted for it (after the ack): it is not
          claimed until that is recorded (`set_ack_message`, `clear_ack_wait`) or for this long.
        """
        if kind not in TASK_KINDS:
            raise ValueError(f"task kind must be one of {TASK_KINDS}, not {kind!r}")
        if not key:
            raise ValueError("task key must not be empty")
        document = json_document(dict(payload))
        run_values = None if run is None else new_run_values(
            run["archive"], run["trigger"], run.get("channel"), None, None, run.get("user"), None)
        now = utcnow()
        with self._db.tx(write=True) as session:
            counted = {str(state): int(n) for state, n in session.execute(
                select(TaskRow.state, func.count())
                .where(TaskRow.kind.in_(list(lane) or [kind]), TaskRow.state.in_(("queued", "running")))
                .group_by(TaskRow.state))}
            queued, running = int(counted.get("queued", 0)), int(counted.get("running", 0))
            if admit is not None and not admit(queued, running):
                return Queued(None, refused=True, running=running, ahead=queued)
            ack_until = None if announce_s is None else now + timedelta(seconds=announce_s)
            values = {"kind": kind, "key": key, "payload": document, "state": "queued", "channel": channel,
                      "attempt": 0, "created_at": now, "ack_queued": False, "ack_until": ack_until}
            inserted = insert_if_absent(session, TASKS, values, key=["key"], returning=TASKS.c.id)
            if inserted is None:
                return Queued(None, duplicate=True, running=running, ahead=queued)
            task_id, run_id = int(inserted[0]), None
            if run_values is not None:
                run_id = session.execute(insert(RUNS).values(**run_values).returning(RUNS.c.id)).scalar_one()
                session.execute(update(TaskRow).where(TaskRow.id == task_id).values(run_id=run_id))
        task = Task(id=task_id, kind=kind, key=key, payload=document, state="queued",
                    run_id=run_id, channel=channel, message_ts=None, owner=None, lease_expires_at=None, attempt=0,
                    created_at=now, started_at=None, finished_at=None, error=None, ack_until=ack_until)
        return Queued(task, running=running, ahead=queued)

    def set_ack_message(self, task_id: int, *, ts: str, queued: bool) -> bool:
        """Record the message posted at the ack (``queued``: it shows a queue position); the task
        is claimable at once. False when a worker claimed it first (it waited too long), one was
        recorded already, or a worker posted its own (and the task was handed back since): the
        caller's message is not the task's."""
        with self._db.tx(write=True) as session:
            result = session.execute(update(TaskRow).where(
                TaskRow.id == task_id, TaskRow.state == "queued", TaskRow.ack_ts.is_(None),
                TaskRow.message_ts.is_(None))
                .values(ack_ts=ts, ack_queued=queued, ack_until=None))
            return bool(getattr(result, "rowcount", 0))

    def clear_ack_wait(self, task_id: int) -> bool:
        """No message will be posted at the ack (the post failed): claimable at once, and its
        worker posts the message itself."""
        with self._db.tx(write=True) as session:
            result = session.execute(update(TaskRow).where(
                TaskRow.id == task_id, TaskRow.state == "queued", TaskRow.ack_ts.is_(None))
                .values(ack_until=None))
            return bool(getattr(result, "rowcount", 0))

    # --- workers -----------------------------------------------------------------------------
    def claim(self, *, kinds: Sequence[str], owner: str, lease_s: float) -> Task | None:
        """The oldest claimable task of ``kinds``, now owned by ``owner`` for ``lease_s`` seconds
        (``attempt`` counted); None when there is nothing to do. A task taken over from a dead
        owner says so in ``previous_owner``."""
        now = utcnow()
        # A queued task whose message is being posted at the ack waits for it (`ack_until`).
        claimable = or_(and_(TaskRow.state == "queued", or_(TaskRow.ack_until.is_(None), TaskRow.ack_until < now)),
                        and_(TaskRow.state == "running", TaskRow.lease_expires_at < now))
        # Look first without the write lock: an idle replica polling must not serialise SQLite.
        with self._db.tx() as session:
            if session.scalar(select(TaskRow.id).where(TaskRow.kind.in_(list(kinds)), claimable).limit(1)) is None:
                return None
        with self._db.tx(write=True) as session:
            row = session.scalars(
                select(TaskRow).where(TaskRow.kind.in_(list(kinds)), claimable)
                .order_by(TaskRow.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            previous = row.owner if row.state == "running" else None
            row.owner, row.state, row.attempt = owner, "running", row.attempt + 1
            row.lease_expires_at = now + timedelta(seconds=lease_s)
            row.started_at = row.started_at or now
            return task_record(row, previous_owner=previous)

    def heartbeat(self, *, owner: str, lease_s: float) -> int:
        """Extend the lease of every task ``owner`` runs; returns how many it holds."""
        with self._db.tx(write=True) as session:
            result = session.execute(
                update(TaskRow).where(TaskRow.owner == owner, TaskRow.state == "running")
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def set_message(self, task_id: int, *, owner: str, attempt: int, channel: str, ts: str) -> bool:
        """Remember the Slack message the task shows itself in (fenced); False if the lease is lost."""
        return self._fenced_update(task_id, owner, attempt, values={"channel": channel, "message_ts": ts})

    def set_run(self, task_id: int, *, owner: str, attempt: int, run_id: int) -> bool:
        """Link the run the task produces (fenced); False if the lease is lost."""
        return self._fenced_update(task_id, owner, attempt, values={"run_id": run_id})

    def holds(self, task_id: int, *, owner: str, attempt: int) -> bool:
        """Does ``owner`` (at this attempt) still hold the task? Asked before delivering a result."""
        with self._db.tx() as session:
            return session.scalar(select(func.count()).select_from(TaskRow)
                                  .where(_fenced(task_id, owner, attempt))) == 1

    def finish(self, task_id: int, *, owner: str, attempt: int, state: str, error: str | None = None,
               outcome: dict[str, Any] | None = None) -> bool:
        """Close the task as 'done' or 'failed' (fenced); False if the lease was lost meanwhile.
        ``outcome`` is merged into the payload (what the task did, for the record and tests)."""
        if state not in FINISHED_TASK_STATES:
            raise ValueError(f"a finished task's state is one of {FINISHED_TASK_STATES}")
        with self._db.tx(write=True) as session:
            row = session.scalars(select(TaskRow).where(_fenced(task_id, owner, attempt))).first()
            if row is None:
                return False
            row.state, row.error, row.finished_at, row.lease_expires_at = state, error, utcnow(), None
            if outcome:
                row.payload = json_document({**(row.payload or {}), "outcome": outcome})
            return True

    def release(self, task_id: int, *, owner: str, attempt: int) -> bool:
        """Give a running task back to the queue (this replica is stopping): another replica, or
        this one after its restart, resumes it; the attempt is not counted against it."""
        return self._fenced_update(task_id, owner, attempt, values={
            "state": "queued", "owner": None, "lease_expires_at": None, "attempt": max(0, attempt - 1)})

    def running_owners(self) -> set[str]:
        """The owners of running tasks (to find dead ones)."""
        with self._db.tx() as session:
            return {o for o in session.scalars(select(TaskRow.owner).where(TaskRow.state == "running").distinct())
                    if o}

    def expire_owner(self, owner: str) -> int:
        """End the leases of a replica known to be dead (same host, process gone): its tasks can
        be taken over now instead of when the leases run out."""
        with self._db.tx(write=True) as session:
            result = session.execute(update(TaskRow).where(TaskRow.owner == owner, TaskRow.state == "running")
                                     .values(lease_expires_at=_LONG_AGO))
            return int(getattr(result, "rowcount", 0) or 0)

    # --- reading -----------------------------------------------------------------------------
    def get(self, task_id: int) -> Task | None:
        with self._db.tx() as session:
            row = session.get(TaskRow, task_id)
            return None if row is None else task_record(row)

    def by_key(self, key: str) -> Task | None:
        with self._db.tx() as session:
            row = session.scalars(select(TaskRow).where(TaskRow.key == key)).first()
            return None if row is None else task_record(row)

    def counts(self, kind: str | Sequence[str]) -> dict[str, int]:
        """How many tasks of ``kind`` (or of several kinds together) are in each state that is not
        finished: {'queued', 'running'}."""
        kinds = [kind] if isinstance(kind, str) else list(kind)
        with self._db.tx() as session:
            rows = session.execute(select(TaskRow.state, func.count()).where(
                TaskRow.kind.in_(kinds), TaskRow.state.in_(("queued", "running"))).group_by(TaskRow.state)).all()
        counted = {"queued": 0, "running": 0}
        counted.update({str(state): int(n) for state, n in rows})
        return counted

    def line(self, kinds: Sequence[str]) -> tuple[list[int], int]:
        """The queued tasks of ``kinds`` in the order they will be claimed (ids), and how many run."""
        with self._db.tx() as session:
            queued = [int(i) for i in session.scalars(select(TaskRow.id).where(
                TaskRow.kind.in_(list(kinds)), TaskRow.state == "queued").order_by(TaskRow.id))]
            running = session.scalar(select(func.count()).select_from(TaskRow).where(
                TaskRow.kind.in_(list(kinds)), TaskRow.state == "running"))
        return queued, int(running or 0)

    def prune(self, *, before: datetime) -> int:
        """Forget finished tasks that finished before ``before``."""
        require_aware(before)
        with self._db.tx(write=True) as session:
            result = session.execute(delete(TaskRow).where(TaskRow.state.in_(FINISHED_TASK_STATES),
                                                           TaskRow.finished_at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    def _fenced_update(self, task_id: int, owner: str, attempt: int, *, values: dict[str, Any]) -> bool:
        with self._db.tx(write=True) as session:
            result = session.execute(update(TaskRow).where(_fenced(task_id, owner, attempt)).values(**values))
            return bool(getattr(result, "rowcount", 0))
