"""The parent message at the ack (issue 15, item 5), on SQLite and PostgreSQL: an analysis shows up
in the channel right after the command is acknowledged, before any worker is free ("queued,
position N in line"), its position follows the line, and the worker that claims it carries on in
that same message — exactly one parent per command, also when the post at the ack fails, when it
outlasts its wait, and after a take-over."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.adapters.db import Store, open_store
from bot.adapters.slack import SlackOps, build_web_client
from bot.core.records import Task
from bot.flows.analysis_job import parent_text
from bot.flows.announce import POSITION_EDIT_TIMEOUT_S, Accepted, QueuePositions, post_at_ack
from bot.flows.pipeline import RunResult
from tests.clocks import ManualClock
from tests.factories import run_result
from tests.slack_support import ScriptedRun, bot_settings, http_bot, upload_done
from tests.standins.slack_api import Call, SlackApiStandin

CHANNEL = "C0001"


class GatedRun(ScriptedRun):
    """`ScriptedRun` held per archive: each analysis waits until its own gate is opened (or the
    bot stops: `http_bot` sets ``release`` then)."""

    def __init__(self) -> None:
        super().__init__()
        self.release.clear()
        self.gates: dict[str, threading.Event] = {}
        self.started_targets: list[str] = []
        self._lock = threading.Lock()

    def gate(self, target: str) -> threading.Event:
        with self._lock:
            return self.gates.setdefault(target, threading.Event())

    def run(self, target: str, *, use_llm: bool = True, allow_local_paths: bool = False,
            progress: Callable[[str], None] | None = None) -> RunResult:
        with self._lock:
            self.started_targets.append(target)
        gate = self.gate(target)
        while not gate.wait(0.05):
            if self.release.is_set():
                raise AssertionError(f"{target} was never released")
        for step in ("fetched", "analyzed"):
            if progress:
                progress(step)
        return run_result(target, self.narrative)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url) as opened:
        yield opened


def _parents(standin: SlackApiStandin) -> list[Call]:
    """Top-level messages posted (not thread replies)."""
    return [c for c in standin.of("chat.postMessage") if not c.params.get("thread_ts")]


def _parent_of(standin: SlackApiStandin, target: str) -> list[Call]:
    return [c for c in _parents(standin) if f"`{target}`" in c.params["text"]]


def _ts(call: Call) -> str:
    assert call.response is not None
    return str(call.response["ts"])


def _edits(standin: SlackApiStandin, ts: str) -> list[str]:
    return [c.params["text"] for c in standin.of("chat.update") if c.params["ts"] == ts]


def _marker(call: Call) -> str:
    """The task key a message is tagged with (its metadata)."""
    metadata = call.params["metadata"]
    return str((json.loads(metadata) if isinstance(metadata, str) else metadata)["event_payload"]["marker"])


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll the bot's state (it changes only when work moves on), counting rounds, not reading a clock."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def test_the_parent_is_posted_at_the_ack_while_every_worker_is_busy_and_its_worker_carries_on_in_it(
        standin: SlackApiStandin, database_url: str) -> None:
    run = GatedRun()
    with http_bot(standin, run, workers=1, max_queue=5, database_url=database_url) as bot_:
        bot_.command("analyze first.tar.gz")
        standin.wait_for(lambda calls: bool(_parent_of(standin, "first.tar.gz")))
        _wait(lambda: run.started_targets == ["first.tar.gz"])
        status, body, _ = bot_.command("analyze second.tar.gz", user="U0002")
        assert status == 200 and "position 1 in line" in body
        # the channel shows it at once, while the only worker is still busy with the first
        standin.wait_for(lambda calls: bool(_parent_of(standin, "second.tar.gz")))
        queued = _parent_of(standin, "second.tar.gz")[0]
        assert "queued, position 1 in line" in queued.params["text"] and "<@U0002>" in queued.params["text"]
        assert run.started_targets == ["first.tar.gz"]
        _wait(lambda: getattr(bot_.services.store.tasks.by_key(_marker(queued)), "ack_ts", None) is not None)
        task = bot_.services.store.tasks.by_key(_marker(queued))
        assert task is not None and task.state == "queued" and task.ack_ts == _ts(queued) and task.ack_queued
        run.gate("first.tar.gz").set()
        _wait(lambda: "second.tar.gz" in run.started_targets)
        run.gate("second.tar.gz").set()
        standin.wait_for(lambda calls: sum(c.method == "files.completeUploadExternal" for c in calls) == 2)
        bot_.settle()
    assert len(_parents(standin)) == 2  # one parent per command
    edits = _edits(standin, _ts(queued))
    assert "— starting…" in edits[0]  # the worker says it started, in the same message
    summary = [c for c in standin.of("chat.update") if c.params["ts"] == _ts(queued)][-1]
    assert summary.params.get("blocks")  # the summary replaced it
    complete = standin.of("files.completeUploadExternal")
    assert {c.params["thread_ts"] for c in complete} == {_ts(_parent_of(standin, t)[0])
                                                         for t in ("first.tar.gz", "second.tar.gz")}
    with open_store(database_url) as reopened:
        stored = reopened.tasks.get(task.id)
        assert stored is not None and stored.message_ts == _ts(queued) and stored.state == "done"
        run_row = reopened.runs.get_run(stored.run_id) if stored.run_id else None
        assert run_row is not None and run_row.parent_ts == _ts(queued)


def test_a_queued_parent_follows_its_place_in_line(standin: SlackApiStandin, database_url: str) -> None:
    run = GatedRun()
    with http_bot(standin, run, workers=1, max_queue=5, database_url=database_url) as bot_:
        for name in ("a", "b", "c"):
            bot_.command(f"analyze {name}.tar.gz")
            standin.wait_for(lambda calls, name=name: bool(_parent_of(standin, f"{name}.tar.gz")))
            if name == "a":
                _wait(lambda: run.started_targets == ["a.tar.gz"])
        third = _parent_of(standin, "c.tar.gz")[0]
        assert "queued, position 2 in line" in third.params["text"]
        run.gate("a.tar.gz").set()  # b starts: c moves up
        standin.wait_for(lambda calls: any("position 1 in line" in t for t in _edits(standin, _ts(third))))
        # c's position is counted from the claims, so the edit may come before b's pipeline starts
        _wait(lambda: run.started_targets == ["a.tar.gz", "b.tar.gz"])
        run.gate("b.tar.gz").set()
        run.gate("c.tar.gz").set()
        standin.wait_for(lambda calls: sum(c.method == "files.completeUploadExternal" for c in calls) == 3)
        bot_.settle()
    assert len(_parents(standin)) == 3
    texts = _edits(standin, _ts(third))
    assert [t for t in texts if "in line" in t] == [parent_text("c.tar.gz", user="U0001", position=1)]
    assert "— starting…" in texts[1]


def test_position_edits_are_at_most_one_per_second_per_message(standin: SlackApiStandin, store: Store) -> None:
    poster = SlackOps(build_web_client(bot_settings(standin)))
    clock = ManualClock(100.0)
    positions = QueuePositions(tasks=store.tasks, poster=poster, capacity=lambda: 1, clock=clock, poll_s=3600)
    try:
        tasks = [store.tasks.queue(kind="analysis", key=f"k{i}", payload={}).task for i in range(4)]
        assert all(t is not None for t in tasks)
        store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)  # k0 runs; k1..k3 wait
        last = tasks[3]
        assert last is not None
        ts = poster.post(channel=CHANNEL, text="queued, position 3", marker=last.key)
        positions.track(task_id=last.id, channel=CHANNEL, ts=ts, position=3, lane=("analysis",),
                        text=lambda at: f"queued, position {at}", posted_at=clock())
        assert positions.refresh() == 0  # nothing moved
        store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)  # k1 runs: running 2 > capacity 1
        clock.advance(0.5)
        assert positions.refresh() == 0  # moved, but the message was posted half a second ago
        clock.advance(0.5)
        assert positions.refresh() == 1
        store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)  # k2 runs
        clock.advance(0.9)
        assert positions.refresh() == 0
        clock.advance(0.1)
        assert positions.refresh() == 1
        store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)  # k3 itself runs: left to its worker
        clock.advance(5)
        assert positions.refresh() == 0 and positions.tracking() == []
    finally:
        positions.stop()
    # running counts against the free workers: position = place among the waiting - free workers
    assert _edits(standin, ts) == ["queued, position 2", "queued, position 1"]


def test_a_failed_post_at_the_ack_leaves_the_parent_to_the_worker(standin: SlackApiStandin,
                                                                     database_url: str) -> None:
    standin.fail("chat.postMessage", "internal_error", times=1)  # the post at the ack
    run = ScriptedRun()
    with http_bot(standin, run, database_url=database_url) as bot_:
        status, _, _ = bot_.command("analyze a.tar.gz")
        assert status == 200
        standin.wait_for(upload_done)
        bot_.settle()
    posts = standin.of("chat.postMessage")
    assert len(posts) == 2 and posts[0].response is None  # refused, then the worker's own
    parent = _ts(posts[1])
    assert all(c.params["ts"] == parent for c in standin.of("chat.update"))
    assert [m["ts"] for m in standin.messages if m["thread_ts"] is None] == [parent]


def _queued_with_parent(store: Store, standin: SlackApiStandin, *, record: bool, announce_s: float = 30.0,
                        text: str = "queued, position 1 in line") -> tuple[Task, str]:
    """An analysis queued by a replica that posted its parent at the ack (and recorded it, or died
    before it could)."""
    queued = store.tasks.queue(kind="analysis", key="slash:feed", channel=CHANNEL, announce_s=announce_s,
                               payload={"target": "a.tar.gz", "use_llm": False, "channel": CHANNEL, "user": "U0001",
                                        "trigger": "slash", "response_url": standin.response_url("first")})
    assert queued.task is not None
    ops = SlackOps(build_web_client(bot_settings(standin)))
    ts = ops.post(channel=CHANNEL, text=f":inbox_tray: Requested: an analysis of `a.tar.gz` — {text}",
                  marker=queued.task.key)
    if record:
        assert store.tasks.set_ack_message(queued.task.id, ts=ts, queued=True)
    return queued.task, ts


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "died-before-recording"])
def test_one_parent_when_the_replica_that_posted_it_at_the_ack_dies(standin: SlackApiStandin, store: Store,
                                                                      database_url: str, recorded: bool) -> None:
    # Not recorded: the claim waits for the post (announce_s) at most, then finds it in Slack by its key.
    task, ts = _queued_with_parent(store, standin, record=recorded, announce_s=0.0)
    with http_bot(standin, ScriptedRun(), database_url=database_url) as bot_:
        standin.wait_for(upload_done)
        bot_.settle()
    assert len(_parents(standin)) == 1
    assert "— starting…" in _edits(standin, ts)[0]
    assert standin.of("files.completeUploadExternal")[0].params["thread_ts"] == ts
    stored = store.tasks.get(task.id)
    assert stored is not None and stored.message_ts == ts and stored.state == "done"


def test_one_parent_when_a_worker_dies_and_another_replica_takes_the_task_over(
        standin: SlackApiStandin, store: Store, database_url: str) -> None:
    task, ts = _queued_with_parent(store, standin, record=True)
    claimed = store.tasks.claim(kinds=["analysis"], owner="elsewhere:1:dead", lease_s=300)
    assert claimed is not None and claimed.id == task.id
    store.tasks.expire_owner("elsewhere:1:dead")  # it died before recording anything itself
    with http_bot(standin, ScriptedRun(), database_url=database_url) as bot_:
        standin.wait_for(upload_done)
        bot_.settle()
    assert len(_parents(standin)) == 1
    assert "resuming" in _edits(standin, ts)[0]
    assert standin.of("files.completeUploadExternal")[0].params["thread_ts"] == ts


def test_work_given_up_says_so_in_the_message_posted_at_the_ack(standin: SlackApiStandin, store: Store,
                                                                   database_url: str) -> None:
    task, ts = _queued_with_parent(store, standin, record=True)
    for attempt in range(2):  # it killed two replicas
        assert store.tasks.claim(kinds=["analysis"], owner=f"elsewhere:1:dead:{attempt}", lease_s=300)
        store.tasks.expire_owner(f"elsewhere:1:dead:{attempt}")
    with http_bot(standin, ScriptedRun(), database_url=database_url) as bot_:
        standin.wait_for(lambda calls: any("was interrupted" in c.params.get("text", "")
                                           for c in calls if c.method == "respond"))
        bot_.settle()
    assert len(_parents(standin)) == 1
    assert "was interrupted" in _edits(standin, ts)[-1]
    given_up = store.tasks.get(task.id)
    assert given_up is not None and given_up.state == "failed"


class _WorkerAdopts(SlackOps):
    """A poster whose post lands after a worker claimed the task (the post outlasted its wait);
    ``worker`` is what that worker did meanwhile: find this very message in Slack, or post its own."""

    def __init__(self, client: Any, worker: Callable[[str], None]) -> None:
        super().__init__(client)
        self.worker = worker

    def post(self, **kwargs: Any) -> str:  # type: ignore[override]
        ts = super().post(**kwargs)
        self.worker(ts)
        return ts


@pytest.mark.parametrize("worker_found_it", [True, False], ids=["found-in-slack", "posted-its-own"])
def test_a_post_that_outlasts_its_wait_never_leaves_two_parents(standin: SlackApiStandin, store: Store,
                                                               worker_found_it: bool) -> None:
    queued = store.tasks.queue(kind="analysis", key="slash:late", channel=CHANNEL, announce_s=0.0,
                               payload={"target": "late.tar.gz", "channel": CHANNEL, "user": "U0001"})
    task = queued.task
    assert task is not None
    client = build_web_client(bot_settings(standin))

    def worker(ack_ts: str) -> None:
        claimed = store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)
        assert claimed is not None and claimed.ack_ts is None  # the wait ran out: claimed first
        own = ack_ts if worker_found_it else SlackOps(client).post(channel=CHANNEL, text="starting…",
                                                                   marker=task.key)
        assert store.tasks.set_message(task.id, owner="w", attempt=1, channel=CHANNEL, ts=own)

    accepted = Accepted(confirmation="", task=task, position=0, lane=("analysis",),
                        parent=lambda at: parent_text("late.tar.gz", user="U0001", position=at))
    woken: list[bool] = []
    shown = post_at_ack(tasks=store.tasks, poster=_WorkerAdopts(client, worker), accepted=accepted,
                        wake=lambda: woken.append(True), sleep=lambda _s: None)
    left = [m["ts"] for m in standin.messages if m["thread_ts"] is None]
    assert len(left) == 1  # one parent either way
    stored = store.tasks.get(task.id)
    assert stored is not None and stored.message_ts == left[0]
    assert (shown == left[0]) is worker_found_it
    assert bool(standin.of("chat.delete")) is not worker_found_it


def test_a_late_post_after_the_worker_posted_its_own_and_handed_the_task_back_is_deleted(
        standin: SlackApiStandin, store: Store) -> None:
    # The post at the ack outlasts its wait; a worker claims the task, posts its own parent, and its
    # replica stops (the task is queued again): the late post must not become the task's parent.
    queued = store.tasks.queue(kind="analysis", key="slash:late2", channel=CHANNEL, announce_s=0.0,
                               payload={"target": "late.tar.gz", "channel": CHANNEL, "user": "U0001"})
    task = queued.task
    assert task is not None
    client = build_web_client(bot_settings(standin))
    own: list[str] = []

    def worker(_ack_ts: str) -> None:
        claimed = store.tasks.claim(kinds=["analysis"], owner="w", lease_s=30)
        assert claimed is not None and claimed.ack_ts is None
        own.append(SlackOps(client).post(channel=CHANNEL, text="starting…", marker=task.key))
        assert store.tasks.set_message(task.id, owner="w", attempt=claimed.attempt, channel=CHANNEL, ts=own[0])
        assert store.tasks.release(task.id, owner="w", attempt=claimed.attempt)

    accepted = Accepted(confirmation="", task=task, position=1, lane=("analysis",),
                        parent=lambda at: parent_text("late.tar.gz", user="U0001", position=at))
    shown = post_at_ack(tasks=store.tasks, poster=_WorkerAdopts(client, worker), accepted=accepted,
                        wake=lambda: None, sleep=lambda _s: None)
    assert shown is None
    stored = store.tasks.get(task.id)
    assert stored is not None and stored.state == "queued" and stored.message_ts == own[0] and stored.ack_ts is None
    assert [m["ts"] for m in standin.messages if m["thread_ts"] is None] == own
    assert len(standin.of("chat.delete")) == 1


def _position_poster(standin: SlackApiStandin) -> SlackOps:
    """The poster the bot edits queue positions with (bot.app.build_services)."""
    return SlackOps(build_web_client(bot_settings(standin), timeout_s=POSITION_EDIT_TIMEOUT_S, retries=False))


def test_a_rate_limited_position_edit_never_lands_after_another_replicas_summary(standin: SlackApiStandin,
                                                                                  store: Store) -> None:
    # Replica A tracks a queued parent; the line moves and A edits its position, but Slack answers
    # that edit with a 429 (Retry-After 2 s). Meanwhile replica B claims the task and delivers.
    lane = ("analysis", "compare")
    tasks = [store.tasks.queue(kind="analysis", key=f"k{i}", payload={"target": f"a{i}"}, channel=CHANNEL,
                               lane=lane).task for i in range(3)]
    assert all(t is not None for t in tasks)
    running = store.tasks.claim(kinds=lane, owner="B", lease_s=30)
    assert running is not None
    last = tasks[2]
    assert last is not None
    poster_b = SlackOps(build_web_client(bot_settings(standin)))
    ts = poster_b.post(channel=CHANNEL, text=parent_text("a2", user="U1", position=2), marker=last.key)
    assert store.tasks.set_ack_message(last.id, ts=ts, queued=True)
    positions = QueuePositions(tasks=store.tasks, poster=_position_poster(standin), capacity=lambda: 1,
                               interval_s=0.0, poll_s=3600)
    try:
        positions.track(task_id=last.id, channel=CHANNEL, ts=ts, position=2, lane=lane,
                        text=lambda at: parent_text("a2", user="U1", position=at), posted_at=0.0)
        store.tasks.finish(running.id, owner="B", attempt=running.attempt, state="done")
        standin.rate_limit("chat.update", retry_after=2, times=1)
        looking = threading.Thread(target=positions.refresh)
        looking.start()
        _wait(lambda: bool(standin.of("chat.update")))  # A's edit reached Slack (and was refused)
        claimed = [store.tasks.claim(kinds=lane, owner="B", lease_s=30) for _ in range(2)]
        assert claimed[1] is not None and claimed[1].id == last.id
        poster_b.update(channel=CHANNEL, ts=ts, text="starting…")
        poster_b.update(channel=CHANNEL, ts=ts, text="SUMMARY", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "summary"}}])
        looking.join()
        positions.refresh()
        assert positions.tracking() == []
    finally:
        positions.stop()
    assert [m["text"] for m in standin.messages if m["ts"] == ts] == ["SUMMARY"]
    # A tried once (refused: skipped, no waiting out the Retry-After), never again once B had it
    assert _edits(standin, ts) == [parent_text("a2", user="U1", position=1), "starting…", "SUMMARY"]


class _SlowEdits(SlackOps):
    """Replica A's position edits, each reaching Slack ``delay_s`` after it was sent (after ``sent``)."""

    def __init__(self, client: Any, *, before: Callable[[], None], delay_s: float) -> None:
        super().__init__(client)
        self.before, self.delay_s = before, delay_s
        self.landed: list[float] = []

    def update(self, **kwargs: Any) -> None:  # type: ignore[override]
        self.before()
        time.sleep(self.delay_s)
        super().update(**kwargs)
        self.landed.append(time.monotonic())


def test_a_position_edit_racing_the_claim_on_another_replica_never_has_the_last_word(
        standin: SlackApiStandin, store: Store, database_url: str) -> None:
    # The parent is posted but not yet recorded: no replica can claim it until it is.
    task, ts = _queued_with_parent(store, standin, record=False, text="queued, position 2 in line")

    def record_then_wait_for_the_claim() -> None:
        # A looked (still queued) and sends its edit; right then the task is recorded and B claims it.
        assert store.tasks.set_ack_message(task.id, ts=ts, queued=True)
        _wait(lambda: getattr(store.tasks.get(task.id), "state", None) != "queued")

    with http_bot(standin, ScriptedRun(), database_url=database_url, clock=time.monotonic) as bot_:
        poster_a = _SlowEdits(build_web_client(bot_settings(standin), timeout_s=POSITION_EDIT_TIMEOUT_S,
                                               retries=False),
                              before=record_then_wait_for_the_claim, delay_s=0.8)
        positions = QueuePositions(tasks=store.tasks, poster=poster_a, capacity=lambda: 0, interval_s=0.0,
                                   poll_s=3600)
        try:
            positions.track(task_id=task.id, channel=CHANNEL, ts=ts, position=2, lane=("analysis",),
                            text=lambda at: f"queued, position {at} in line", posted_at=0.0)
            assert positions.refresh() == 1
        finally:
            positions.stop()
        standin.wait_for(upload_done)
        bot_.settle()
    edits = [c for c in standin.of("chat.update") if c.params["ts"] == ts]
    assert "queued, position 1 in line" in [c.params["text"] for c in edits]
    assert edits[-1].params.get("blocks")  # the summary is what the message shows
    assert [m["text"] for m in standin.messages if m["ts"] == ts] == [edits[-1].params["text"]]
