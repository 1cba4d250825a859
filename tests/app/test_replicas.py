"""Two (or more) real `chimera serve` processes on one database — SQLite and PostgreSQL — against
the Slack and Ollama stand-ins: start-up races, SIGKILL mid-digest and mid-analysis, one reply to
a duplicated event, a thread question across a database restart, and a single process coming back
clean after SIGKILL. The processes are described in tests/replicas.py.

Leases are short here (LEASE_S=2): a dead replica's work is taken over within about two seconds.
Replicas get distinct host names (REPLICA_HOST), so the survivor cannot see that its peer's process
is gone and relies on the lease running out, as on two machines.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.engine import make_url

from bot.adapters.db import Store, open_store
from bot.adapters.db.engine import make_engine
from bot.adapters.scheduler import MigratedJobStore, job_id
from tests.digest_support import message_text, write_synth
from tests.pgserver import DatabaseFactory, TestDatabase
from tests.replicas import Fleet, Replica, fleet
from tests.standins.ollama_server import OllamaStandIn, Reply, answer_json
from tests.standins.slack_api import BOT_USER_ID, SlackApiStandin

CHANNEL = "C0001"
SLOW_S = 1.5  # how long the stand-in model takes to start answering: analyses are "running" that long


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    write_synth(root, "nightly/2025-11-14")
    return root


@pytest.fixture
def slow_ollama() -> Iterator[OllamaStandIn]:
    with OllamaStandIn(replies=[Reply(content=answer_json(), first_token_delay_s=SLOW_S)]) as server:
        yield server


@pytest.fixture
def replicas(request: pytest.FixtureRequest, tmp_path: Path, database: TestDatabase, standin: SlackApiStandin,
             slow_ollama: OllamaStandIn, storage: Path) -> Iterator[Fleet]:
    with fleet(tmp_path / "replicas", database_url=database.url, standin=standin, ollama_host=slow_ollama.host,
               storage=storage) as made:
        yield made
        show_logs_if_failed(request, made)


def show_logs_if_failed(request: pytest.FixtureRequest, made: Fleet) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(made.logs())  # shown under "Captured stdout teardown"


def eventually(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy (a bounded wait for another process's work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s")


def top_posts(standin: SlackApiStandin, channel: str = CHANNEL) -> list[Any]:
    return [c for c in standin.of("chat.postMessage")
            if c.params.get("channel") == channel and not c.params.get("thread_ts")]


def _progress(text: str) -> bool:
    return text.startswith((":hourglass_flowing_sand:", ":writing_hand:"))


def last_text_of_each_message(standin: SlackApiStandin, posts: list[Any]) -> dict[str, str]:
    """Each posted message's ts -> what it says now (its last edit, or its text)."""
    shown = {str((call.response or {}).get("ts")): call.params.get("text", "") for call in posts}
    for call in standin.of("chat.update"):
        if call.params.get("ts") in shown:
            shown[call.params["ts"]] = call.params.get("text", "")
    return shown


def owner_replica(fleet_: Fleet, owner: str) -> Replica:
    """The replica whose id (REPLICA_HOST:pid:...) is ``owner``."""
    host, pid = owner.split(":")[0], int(owner.split(":")[1])
    (replica,) = [r for r in fleet_.replicas if r.name == host and r.pid == pid]
    return replica


# --- start-up ---------------------------------------------------------------------------------------
def _fresh_databases(database: TestDatabase, tmp_path: Path, request: pytest.FixtureRequest,
                     count: int) -> list[str]:
    if database.backend == "sqlite":
        return [f"sqlite:///{tmp_path / f'start-{i}.sqlite3'}" for i in range(count)]
    factory: DatabaseFactory = request.getfixturevalue("postgres_server")
    urls = [factory.create() for _ in range(count)]
    request.addfinalizer(lambda: [factory.drop(u) for u in urls])
    return urls


def test_twenty_simultaneous_starts_on_an_empty_database_all_come_up(replicas: Fleet, database: TestDatabase,
                                                                     tmp_path: Path,
                                                                     request: pytest.FixtureRequest) -> None:
    trials, batch = 20, 5
    urls = _fresh_databases(database, tmp_path, request, trials)
    mark = database.log_mark()
    came_up = 0
    for first in range(0, trials, batch):
        go = replicas.event()
        pairs = [[replicas.start(f"t{i}-{side}", go=go, wait=False, database_url=urls[i]) for side in "ab"]
                 for i in range(first, first + batch)]
        go.set()  # every pair starts at the same instant on its own empty database
        for pair in pairs:
            for replica in pair:
                replica.wait_ready()
            came_up += 1
        for pair in pairs:
            assert [replica.terminate() for replica in pair] == [0, 0]
    assert came_up == trials
    assert database.errors_since(mark) == []  # no lost race left an ERROR in the server's log
    for url in urls[:3]:
        with open_store(url) as store:  # migrated once, completely
            assert store.ping()["reachable"]


# --- exactly once -----------------------------------------------------------------------------------
def test_the_same_help_event_to_both_replicas_gets_one_reply(replicas: Fleet, database: TestDatabase,
                                                             standin: SlackApiStandin) -> None:
    a, b = replicas.start("a"), replicas.start("b")
    mark = database.log_mark()
    event = {"type": "app_mention", "channel": CHANNEL, "user": "U0001", "ts": "1700000001.000001",
             "text": f"<@{BOT_USER_ID}> help", "event_ts": "1700000001.000001"}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver(replica: Replica) -> None:
        barrier.wait(10)
        statuses.append(replica.client.event(event, event_id="EvHelp1")[0])

    threads = [threading.Thread(target=deliver, args=(r,)) for r in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200, 200]
    a.client.event(event, event_id="EvHelp1", retry_num=1)  # and Slack's retry, later
    replies = eventually(lambda: [c for c in standin.of("chat.postMessage") if "@Chimera analyze" in
                                  c.params.get("text", "")], what="the help reply")
    # a status request the same way: one reply
    status = {**event, "ts": "1700000002.000001", "text": f"<@{BOT_USER_ID}> status"}
    for replica in (b, a):
        replica.client.event(status, event_id="EvStatus1")
    eventually(lambda: [c for c in standin.of("chat.postMessage") if "Chimera Insight" in c.params.get("text", "")
                        and "Jobs:" in c.params.get("text", "")], what="the status reply")
    # Each replica decided before answering Slack (the claim is made before the ack), so once the
    # deliveries returned, the replica that lost the claim has nothing left to post.
    assert len(replies) == 1 and len([c for c in standin.of("chat.postMessage")
                                      if "@Chimera analyze" in c.params.get("text", "")]) == 1
    assert len([c for c in standin.of("chat.postMessage") if "Jobs:" in c.params.get("text", "")]) == 1
    assert database.errors_since(mark) == []  # the losing claims were quiet: ON CONFLICT DO NOTHING


# --- a replica dies ---------------------------------------------------------------------------------
def _schedule_once(database_url: str, subscription_id: int, at: datetime) -> None:
    """What a fire looks like in the shared job table: the digest job, due at ``at``."""
    engine = make_engine(database_url)
    try:
        scheduler = BackgroundScheduler(jobstores={"default": MigratedJobStore(engine=engine)}, timezone=UTC)
        scheduler.start(paused=True)
        scheduler.add_job("bot.adapters.scheduler:fire_digest", DateTrigger(run_date=at), args=[subscription_id],
                          id=job_id(subscription_id), misfire_grace_time=300, coalesce=True)
        scheduler.shutdown(wait=False)
    finally:
        engine.dispose()


def test_a_replica_killed_mid_digest_hands_it_to_the_other_which_posts_it_once(
        tmp_path: Path, database: TestDatabase, standin: SlackApiStandin, slow_ollama: OllamaStandIn,
        storage: Path) -> None:
    with open_store(database.url) as store:
        sub = store.subscriptions.add_subscription(channel="C0DIGEST", schedule="daily 09:00",
                                                   trigger={"hour": "9", "minute": "0"}, timezone="UTC",
                                                   prefix="nightly")
        _schedule_once(database.url, sub.id, datetime.now(UTC) + timedelta(seconds=1))
        with fleet(tmp_path / "replicas", database_url=database.url, standin=standin, ollama_host=slow_ollama.host,
                   storage=storage, digest_use_llm="true") as replicas:
            replicas.start("a")
            replicas.start("b")
            mark = database.log_mark()
            # both schedulers fire it; one queues it; some replica runs it (the narrative is slow)
            running = eventually(lambda: _running_task(store, "digest"), what="the digest running")
            eventually(lambda: slow_ollama.requests_to("/api/chat"), what="the narrative under way")
            victim = owner_replica(replicas, running.owner)
            victim.kill()
            done = eventually(lambda: _finished(store, running.id), timeout=40, what="the digest finished")
            survivor = next(r for r in replicas.replicas if r.name != victim.name)
            assert done.owner.startswith(f"{survivor.name}:") and done.attempt == 2
            posts = top_posts(standin, "C0DIGEST")
            assert len(posts) == 1, [p.params.get("text") for p in posts]
            assert message_text(posts[0]).startswith("Digest of nightly/2025-11-14")
            assert store.digests.digest_for_task(running.id).status == "posted"
            assert done.payload["outcome"]["status"] == "posted"
            assert database.errors_since(mark) == []


def _tasks(store: Store, state: str) -> list[Any]:
    return [t for t in (store.tasks.get(i) for i in range(1, 50)) if t is not None and t.state == state]


def _running_task(store: Store, kind: str) -> Any:
    tasks = [store.tasks.get(i) for i in range(1, 50)]
    running = [t for t in tasks if t is not None and t.kind == kind and t.state == "running"]
    return running[0] if running else None


def _finished(store: Store, task_id: int) -> Any:
    task = store.tasks.get(task_id)
    return task if task is not None and task.state in {"done", "failed"} else None


def test_a_replica_killed_with_two_running_and_two_queued_analyses_leaves_nobody_waiting(
        replicas: Fleet, database: TestDatabase, standin: SlackApiStandin, slow_ollama: OllamaStandIn) -> None:
    held = threading.Event()  # the model answers nobody until the test says so: analyses stay running
    slow_ollama.script(*[Reply(content=answer_json(), hold=held)] * 4, Reply(content=answer_json()))
    a, b = replicas.start("a"), replicas.start("b")
    for replica in (a, b):  # each has seen the other's heartbeat: the line is the fleet's four workers
        eventually(lambda r=replica: r.ready()[1].get("fleet_workers") == 4, what="the fleet's capacity")
    mark = database.log_mark()
    with open_store(database.url) as store:
        # two analyses occupy two of the fleet's four workers; then four requests reach a: two more
        # run, two wait in line (no worker is free anywhere)
        for i in range(2):
            b.client.command("analyze nightly/2025-11-14", name=f"b{i}")
        eventually(lambda: len(slow_ollama.requests_to("/api/chat")) == 2, what="two analyses running")
        acks = [a.client.command("analyze nightly/2025-11-14", name=f"a{i}")[1] for i in range(4)]
        eventually(lambda: len(slow_ollama.requests_to("/api/chat")) == 4, what="four analyses running")
        assert store.tasks.counts("analysis") == {"queued": 2, "running": 4}
        assert sorted("Queued" in ack for ack in acks) == [False, False, True, True], "\n".join(acks)
        victim = a if sum(r.owner.startswith("a:") for r in _tasks(store, "running")) == 2 else b
        victim.kill()  # two analyses running there, two waiting in line
        held.set()
        eventually(lambda: store.tasks.counts("analysis") == {"queued": 0, "running": 0}, timeout=60,
                   what="every analysis finished")
        states = [store.tasks.get(i) for i in range(1, 7)]
    assert all(t is not None and t.state == "done" for t in states), [(t.id, t.state) for t in states if t]
    assert all(t.payload["outcome"]["result"] == "delivered" for t in states if t)
    parents = top_posts(standin)
    assert len(parents) == 6  # one message per analysis: a take-over resumes the dead replica's message
    shown = last_text_of_each_message(standin, parents)
    assert not [text for text in shown.values() if _progress(text)], shown  # nothing stuck at "Analyzing…"
    assert sum(c.method == "files.completeUploadExternal" for c in standin.calls) == 6
    assert database.errors_since(mark) == []


def test_a_thread_question_during_a_database_restart_is_answered_once_after_recovery(
        replicas: Fleet, database: TestDatabase, standin: SlackApiStandin) -> None:
    # SQLite's outage is a write lock another process holds: writers give up after half a second
    a, b = replicas.start("a", database_busy_timeout_s=0.5), replicas.start("b", database_busy_timeout_s=0.5)
    a.client.command("analyze nightly/2025-11-14 --no-llm")
    eventually(lambda: standin.of("files.completeUploadExternal"), what="the report")
    thread_ts = standin.of("files.completeUploadExternal")[0].params["thread_ts"]
    question = {"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": "U0002",
                "text": "which model is fastest?", "ts": "1700000500.000001", "thread_ts": thread_ts,
                "event_ts": "1700000500.000001"}
    with database_down(database):
        status, _, _ = a.client.event(question, event_id="EvOutage")
        assert status == 503  # not acked and dropped: Slack will deliver it again
    # Slack's redelivery (to whichever replica) once the database is back, and a late duplicate
    assert b.client.event(question, event_id="EvOutage", retry_num=1)[0] == 200
    assert a.client.event(question, event_id="EvOutage", retry_num=2)[0] == 200

    def answers() -> list[Any]:
        return [c for c in standin.of("chat.postMessage") if c.params.get("thread_ts") == thread_ts
                and "Looking at the stored data" in c.params.get("text", "")]

    def answered() -> bool:
        shown = last_text_of_each_message(standin, answers())
        return bool(shown) and not any(_progress(text) for text in shown.values())

    eventually(answered, what="the answer")
    assert len(answers()) == 1  # the redeliveries found the question queued already (before their ack)


class database_down:
    """The database is unavailable for the duration: PostgreSQL is stopped (every connection cut)
    and started again on the same port; SQLite is write-locked by another process."""

    def __init__(self, database: TestDatabase) -> None:
        self.database = database
        self._lock: sqlite3.Connection | None = None

    def __enter__(self) -> None:
        if self.database.backend == "postgresql":
            if self.database.server is None:
                pytest.skip("needs the throwaway PostgreSQL (not one given by CHIMERA_TEST_POSTGRES_URL)")
            self.database.server.pause()
        else:
            path = make_url(self.database.url).database
            assert path
            self._lock = sqlite3.connect(path, isolation_level=None, timeout=10)
            self._lock.execute("BEGIN EXCLUSIVE")

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
        elif self.database.server is not None:
            self.database.server.resume()


# --- one process, SIGKILL, restart (no other replica) --------------------------------------------------
def test_a_single_process_killed_mid_analysis_resumes_it_when_restarted(
        replicas: Fleet, database: TestDatabase, standin: SlackApiStandin) -> None:
    a = replicas.start("solo")
    a.client.command("analyze nightly/2025-11-14", name="first")
    with open_store(database.url) as store:
        eventually(lambda: store.tasks.counts("analysis")["running"] == 1, what="the analysis running")
        eventually(lambda: top_posts(standin), what="its message")
        stale = replicas.root / "solo" / "work" / f"archive-{_host()}-{_dead_pid()}-leftover"
        stale.mkdir(parents=True)
        a.kill()
        replicas.start("solo")  # same host: it sees its predecessor is gone and resumes at once
        eventually(lambda: store.tasks.counts("analysis") == {"queued": 0, "running": 0}, what="finished")
        task = store.tasks.get(1)
    assert task is not None and task.state == "done" and task.attempt == 2
    assert task.payload["outcome"]["result"] == "delivered"
    assert len(top_posts(standin)) == 1  # resumed in its own message
    assert not [t for t in last_text_of_each_message(standin, top_posts(standin)).values() if _progress(t)]
    assert not stale.exists()  # the scratch a killed process left is removed at start-up


def test_a_single_process_that_cannot_redo_the_analysis_says_so_and_answers_its_thread_accordingly(
        replicas: Fleet, database: TestDatabase, standin: SlackApiStandin) -> None:
    a = replicas.start("solo", task_max_attempts=1)
    a.client.command("analyze nightly/2025-11-14", name="first")
    with open_store(database.url) as store:
        eventually(lambda: store.tasks.counts("analysis")["running"] == 1, what="the analysis running")
        eventually(lambda: top_posts(standin), what="its message")
        # The parent is posted at the ack now: wait for the run record, so the kill lands mid-analysis.
        eventually(lambda: getattr(store.tasks.get(1), "run_id", None) is not None, what="its run recorded")
        a.kill()
        b = replicas.start("solo", task_max_attempts=1)
        eventually(lambda: store.tasks.counts("analysis") == {"queued": 0, "running": 0}, what="given up")
        task = store.tasks.get(1)
        assert task is not None and task.state == "failed" and task.error.startswith("interrupted")
        run = store.runs.get_run(task.run_id)
        assert run is not None and run.status == "failed" and run.error.startswith("interrupted")
    (parent,) = top_posts(standin)
    (shown,) = last_text_of_each_message(standin, [parent]).values()
    assert "was interrupted" in shown and "/chimera analyze nightly/2025-11-14" in shown
    told = eventually(lambda: [c for c in standin.of("respond") if "was interrupted" in c.params.get("text", "")],
                      what="the requester told")
    assert len(told) == 1
    thread_ts = str(parent.response["ts"])
    b.client.event({"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": "U0002",
                    "text": "what is the p95 latency?", "ts": "1700000600.000001", "thread_ts": thread_ts,
                    "event_ts": "1700000600.000001"}, event_id="EvAfterCrash")
    eventually(lambda: [c for c in standin.of("chat.update") if "This analysis was interrupted" in
                        c.params.get("text", "")], what="the thread answered accordingly")


def _host() -> str:
    import re
    import socket

    return re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname() or "localhost")


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
