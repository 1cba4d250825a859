"""The durable work queue on SQLite and PostgreSQL: exactly-once intake, leases, heartbeats,
take-over of a dead replica's work, fencing, give-up, hand-back at shutdown, pruning.

The store is real; the task handlers are small recorders (what a handler does with Slack is tested
with the flows and, end to end, in tests/app/test_replicas.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.db import Store, open_store
from bot.adapters.replica import ReplicaIdentity
from bot.core.records import Task
from bot.flows.tasks import Lease, Me, QueueSettings, TaskRunner, prune_old_records


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url) as opened:
        yield opened


def _enqueue(store: Store, key: str, kind: str = "analysis", **payload: Any) -> Task:
    task = store.tasks.enqueue(kind=kind, key=key, payload=payload or {"n": key})
    assert task is not None
    return task


# --- the queue ------------------------------------------------------------------------------------
def test_a_request_is_queued_once_with_its_run(store: Store, database_url: str) -> None:
    run = {"archive": "a.tar.gz", "trigger": "mention", "channel": "C1", "user": "U1"}
    with open_store(database_url) as other:  # another replica sees the same event
        results = list(ThreadPoolExecutor(6).map(
            lambda i: (store if i % 2 else other).tasks.enqueue(kind="analysis", key="command:C1:1.0",
                                                                payload={"target": "a.tar.gz"}, run=run),
            range(6)))
    queued = [t for t in results if t is not None]
    assert len(queued) == 1 and queued[0].state == "queued" and queued[0].attempt == 0
    stored_run = store.runs.get_run(queued[0].run_id)
    assert stored_run is not None and (stored_run.archive, stored_run.status) == ("a.tar.gz", "queued")
    assert store.tasks.counts("analysis") == {"queued": 1, "running": 0}


def test_queueing_says_where_the_task_stands_and_refuses_when_the_line_is_full(store: Store) -> None:
    def admit(queued: int, running: int) -> bool:
        return queued < 2

    first = store.tasks.queue(kind="analysis", key="a", payload={}, admit=admit)
    store.tasks.claim(kinds=["analysis"], owner="me", lease_s=30)
    second = store.tasks.queue(kind="analysis", key="b", payload={}, admit=admit)
    third = store.tasks.queue(kind="analysis", key="c", payload={}, admit=admit)
    full = store.tasks.queue(kind="analysis", key="d", payload={}, admit=admit)
    again = store.tasks.queue(kind="analysis", key="b", payload={})
    assert first.task is not None and (first.running, first.ahead) == (0, 0)
    assert second.task is not None and (second.running, second.ahead) == (1, 0)
    assert third.task is not None and (third.running, third.ahead) == (1, 1)
    assert full.task is None and full.refused and (full.running, full.ahead) == (1, 2)
    assert again.task is None and again.duplicate
    assert store.tasks.counts("analysis") == {"queued": 2, "running": 1}  # nothing written for d or b again


def test_claims_are_oldest_first_and_each_task_goes_to_one_replica(store: Store, database_url: str) -> None:
    ids = [_enqueue(store, f"k{i}").id for i in range(8)]
    _enqueue(store, "other-kind", kind="answer")
    with open_store(database_url) as other:
        claimed = list(ThreadPoolExecutor(4).map(
            lambda i: (store if i % 2 else other).tasks.claim(kinds=["analysis"], owner=f"r{i % 2}", lease_s=30),
            range(10)))
    got = sorted(t.id for t in claimed if t is not None)
    assert got == ids  # all eight, none twice, and never the answer
    assert store.tasks.counts("analysis") == {"queued": 0, "running": 8}
    first = store.tasks.get(ids[0])
    assert first is not None and first.attempt == 1 and first.lease_expires_at is not None


def test_a_task_waits_for_its_message_posted_at_the_ack_then_carries_it(store: Store) -> None:
    waiting = store.tasks.queue(kind="analysis", key="posted", payload={}, announce_s=60).task
    failed = store.tasks.queue(kind="analysis", key="failed", payload={}, announce_s=60).task
    plain = _enqueue(store, "plain")
    assert waiting is not None and failed is not None and waiting.ack_until is not None
    # neither is claimed while its post is under way; a task behind them is
    assert store.tasks.line(["analysis"]) == ([waiting.id, failed.id, plain.id], 0)
    first = store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)
    assert first is not None and first.id == plain.id and store.tasks.claim(kinds=["analysis"], owner="w",
                                                                              lease_s=30) is None
    assert store.tasks.clear_ack_wait(failed.id)  # its post failed: the worker posts it
    assert store.tasks.set_ack_message(waiting.id, ts="1.5", queued=True)
    assert not store.tasks.set_ack_message(waiting.id, ts="1.6", queued=False)  # one message per task
    claimed = [store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30) for _ in range(2)]
    by_id = {t.id: t for t in claimed if t is not None}
    assert (by_id[waiting.id].ack_ts, by_id[waiting.id].ack_queued, by_id[waiting.id].ack_until) == ("1.5", True,
                                                                                                     None)
    assert (by_id[failed.id].ack_ts, by_id[failed.id].ack_until) == (None, None)
    assert by_id[waiting.id].message_ts is None  # the worker records it as its own (fenced) when it starts
    assert store.tasks.line(["analysis"]) == ([], 3)
    # a post that lands after a worker claimed the task is not recorded (its poster deletes it)
    late = store.tasks.queue(kind="analysis", key="late", payload={}, announce_s=0.0).task
    assert late is not None and store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30) is not None
    assert not store.tasks.set_ack_message(late.id, ts="2.0", queued=False)
    assert not store.tasks.clear_ack_wait(late.id)


def test_an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_off(store: Store) -> None:
    task = _enqueue(store, "k")
    mine = store.tasks.claim(kinds=["analysis"], owner="alive", lease_s=30)
    assert mine is not None and store.tasks.claim(kinds=["analysis"], owner="thief", lease_s=30) is None
    assert store.tasks.set_message(task.id, owner="alive", attempt=1, channel="C1", ts="1.1")
    # the owner stops heartbeating: its lease runs out (here: ended at once)
    assert store.tasks.expire_owner("alive") == 1
    taken = store.tasks.claim(kinds=["analysis"], owner="heir", lease_s=30)
    assert taken is not None and taken.previous_owner == "alive" and taken.attempt == 2
    assert taken.message_ts == "1.1"  # the heir edits the same Slack message
    # the old owner, still working, can no longer touch the task
    assert not store.tasks.holds(task.id, owner="alive", attempt=1)
    assert not store.tasks.set_message(task.id, owner="alive", attempt=1, channel="C1", ts="9.9")
    assert not store.tasks.finish(task.id, owner="alive", attempt=1, state="done")
    assert store.tasks.holds(task.id, owner="heir", attempt=2)
    assert store.tasks.finish(task.id, owner="heir", attempt=2, state="done", outcome={"ok": True})
    done = store.tasks.get(task.id)
    assert done is not None and (done.state, done.payload["outcome"]) == ("done", {"ok": True})


def test_a_heartbeat_keeps_the_lease_and_a_release_gives_the_task_back(store: Store) -> None:
    task = _enqueue(store, "k")
    claimed = store.tasks.claim(kinds=["analysis"], owner="me", lease_s=0.001)
    assert claimed is not None
    assert store.tasks.heartbeat(owner="me", lease_s=30) == 1  # renewed before anyone looked
    assert store.tasks.claim(kinds=["analysis"], owner="other", lease_s=30) is None
    assert store.tasks.release(task.id, owner="me", attempt=1)
    back = store.tasks.get(task.id)
    assert back is not None and (back.state, back.owner, back.attempt) == ("queued", None, 0)
    assert store.tasks.running_owners() == set()


def test_finished_tasks_events_and_replicas_are_pruned(store: Store) -> None:
    task = _enqueue(store, "k")
    store.tasks.claim(kinds=["analysis"], owner="me", lease_s=30)
    store.tasks.finish(task.id, owner="me", attempt=1, state="done")
    store.events.mark_event_seen("E1")
    store.replicas.beat("gone", host="h", pid=1, workers=2)
    settings = QueueSettings(keep_events=timedelta(seconds=-1), keep_tasks=timedelta(seconds=-1))
    assert store.tasks.prune(before=datetime.now(UTC) - timedelta(hours=1)) == 0  # too young
    prune_old_records(tasks=store.tasks, replicas=store.replicas, events=store.events, settings=settings)
    assert store.tasks.get(task.id) is None
    assert store.events.mark_event_seen("E1") is True  # forgotten
    assert [r.id for r in store.replicas.live(within_s=3600)] == ["gone"]  # a day's grace


# --- the runner -----------------------------------------------------------------------------------
class Recorder:
    """A task handler that records what it was asked to do; ``gate`` holds a run open."""

    def __init__(self) -> None:
        self.ran: list[tuple[int, int, bool]] = []  # (task id, attempt, resumed)
        self.gave_up: list[int] = []
        self.interrupted: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.done = threading.Event()
        self.crash_on: set[int] = set()

    def run(self, lease: Lease) -> dict[str, Any] | None:
        self.started.set()
        self.ran.append((lease.task.id, lease.task.attempt, lease.resumed))
        if lease.task.message_ts is None:
            lease.remember_message(channel="C1", ts=f"ts-{lease.task.id}")
        self.gate.wait(10)
        if lease.task.id in self.crash_on:
            raise RuntimeError("boom")
        delivered = lease.begin_delivery()
        self.done.set()
        return {"delivered": delivered}

    def give_up(self, task: Task, reason: str) -> None:
        self.gave_up.append(task.id)
        self.done.set()

    def interrupt(self, lease: Lease) -> None:
        self.interrupted.append(lease.task.id)


def _runner(store: Store, handler: Recorder, *, gone: set[str] | None = None, max_attempts: int = 2,
            name: str | None = None, maintenance: Any = None) -> TaskRunner:
    me = ReplicaIdentity.for_this_process()
    dead = gone if gone is not None else set()
    runner = TaskRunner(tasks=store.tasks, replicas=store.replicas,
                        me=Me(id=name or me.id, host=me.host, pid=me.pid, owner_is_gone=lambda o: o in dead),
                        settings=QueueSettings(lease_s=5, heartbeat_s=0.2, poll_s=0.05, max_attempts=max_attempts,
                                               maintenance_s=0.2),
                        workers={"analysis": 1}, maintenance=maintenance)
    runner.handle("analysis", handler)
    return runner


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        done.wait(0.02)
    raise AssertionError("condition not reached in time")


def test_the_runner_runs_queued_work_and_survives_a_crashing_task(store: Store) -> None:
    handler = Recorder()
    first, second = _enqueue(store, "a"), _enqueue(store, "b")
    handler.crash_on = {first.id}
    runner = _runner(store, handler)
    runner.start()
    try:
        _wait(lambda: all(store.tasks.get(t.id).state in {"done", "failed"} for t in (first, second)))
    finally:
        runner.shutdown(grace_s=1)
    assert store.tasks.get(first.id).state == "failed" and store.tasks.get(second.id).state == "done"
    assert [r[0] for r in handler.ran] == [first.id, second.id]
    assert [r.id for r in store.replicas.live(within_s=60)] == []  # stopped replicas are not live


def test_a_dead_replicas_work_is_resumed_at_once_by_a_replica_that_knows_it_died(store: Store) -> None:
    task = _enqueue(store, "a")
    assert store.tasks.claim(kinds=["analysis"], owner="host:1:dead:1", lease_s=300) is not None
    store.tasks.set_message(task.id, owner="host:1:dead:1", attempt=1, channel="C1", ts="left-behind")
    handler = Recorder()
    runner = _runner(store, handler, gone={"host:1:dead:1"})  # e.g. this host, and that pid is gone
    runner.start()  # the 300 s lease is not waited for
    try:
        _wait(lambda: store.tasks.get(task.id).state == "done")
    finally:
        runner.shutdown(grace_s=1)
    assert handler.ran == [(task.id, 2, True)]  # resumed, in the message the dead replica left


def test_a_task_that_keeps_killing_its_replicas_is_given_up(store: Store) -> None:
    task = _enqueue(store, "a")
    for attempt in (1, 2):  # two replicas died running it
        assert store.tasks.claim(kinds=["analysis"], owner=f"dead{attempt}", lease_s=300) is not None
        store.tasks.expire_owner(f"dead{attempt}")
    handler = Recorder()
    runner = _runner(store, handler)
    runner.start()
    try:
        _wait(lambda: store.tasks.get(task.id).state == "failed")
    finally:
        runner.shutdown(grace_s=1)
    assert handler.gave_up == [task.id] and handler.ran == []
    assert store.tasks.get(task.id).error == "interrupted: the bot stopped while working on it"


def test_shutdown_hands_unfinished_work_back_and_its_late_result_is_dropped(store: Store,
                                                                             database_url: str) -> None:
    task = _enqueue(store, "a")
    handler = Recorder()
    handler.gate.clear()
    runner = _runner(store, handler)
    runner.start()
    assert handler.started.wait(10)
    assert [t.id for t in runner.shutdown(grace_s=0.1)] == [task.id]
    assert handler.interrupted == [task.id]
    back = store.tasks.get(task.id)
    assert back is not None and (back.state, back.attempt, back.message_ts) == ("queued", 0, f"ts-{task.id}")
    handler.gate.set()  # the old worker finishes: it must not deliver
    assert handler.done.wait(10)
    with open_store(database_url) as other:
        successor = Recorder()
        again = _runner(other, successor)
        again.start()
        try:
            _wait(lambda: other.tasks.get(task.id).state == "done")
        finally:
            again.shutdown(grace_s=1)
    assert successor.ran == [(task.id, 1, True)]  # resumed, attempt not counted against it
    assert other.tasks.get(task.id).payload["outcome"] == {"delivered": True}


def test_the_runner_prunes_old_records_on_a_schedule(store: Store) -> None:
    pruned = threading.Semaphore(0)
    runner = _runner(store, Recorder(), maintenance=pruned.release)  # in the bot: prune_old_records + scratch
    runner.start()
    try:
        assert pruned.acquire(timeout=10) and pruned.acquire(timeout=10)  # at start, then every MAINTENANCE_S
    finally:
        runner.shutdown(grace_s=1)
