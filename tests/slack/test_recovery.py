"""Coming back after a crash, in one process (SQLite and PostgreSQL): work a dead predecessor left
is resumed in the Slack message it had posted — even one it died before recording — or, when it
cannot be redone, that message says so, the requester is told, and the run's thread answers
accordingly. Scratch left by killed processes is removed. (The same with real processes and
SIGKILL: tests/app/test_replicas.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.db import Store, open_store
from bot.adapters.extract import sweep_scratch
from bot.adapters.replica import process_exists
from bot.adapters.slack import SlackOps, build_web_client
from bot.core.records import Task
from bot.flows.tasks import message_of
from tests.slack_support import ScriptedRun, bot_settings, http_bot, upload_done
from tests.standins.slack_api import SlackApiStandin

CHANNEL = "C0001"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url) as opened:
        yield opened


def _left_by_a_dead_replica(store: Store, standin: SlackApiStandin, *, attempts: int = 1) -> tuple[Task, str]:
    """An analysis a replica claimed and announced in Slack, then died before recording the message."""
    task = store.tasks.enqueue(kind="analysis", key="slash:abc", channel=CHANNEL,
                               payload={"target": "a.tar.gz", "use_llm": False, "channel": CHANNEL, "user": "U0001",
                                        "trigger": "slash", "response_url": standin.response_url("first")},
                               run={"archive": "a.tar.gz", "trigger": "slash", "channel": CHANNEL, "user": "U0001"})
    assert task is not None
    for attempt in range(attempts):
        assert store.tasks.claim(kinds=["analysis"], owner=f"elsewhere:1:dead:{attempt}", lease_s=300)
        store.tasks.expire_owner(f"elsewhere:1:dead:{attempt}")
    ops = SlackOps(build_web_client(bot_settings(standin)))
    parent = ops.post(channel=CHANNEL, text=":hourglass_flowing_sand: Requested: an analysis of `a.tar.gz` — "
                                            "starting…", marker=task.key)
    return task, parent


def test_a_take_over_resumes_in_the_message_its_predecessor_posted_but_never_recorded(
        standin: SlackApiStandin, store: Store, database_url: str) -> None:
    task, parent = _left_by_a_dead_replica(store, standin)
    run = ScriptedRun()
    with http_bot(standin, run, database_url=database_url):
        standin.wait_for(upload_done)
    assert len(standin.of("chat.postMessage")) == 1  # no second parent message
    edits = [c for c in standin.of("chat.update") if c.params["ts"] == parent]
    assert "resuming" in edits[0].params["text"] and edits[-1].params.get("blocks")  # summary in place
    stored = store.runs.get_run(task.run_id)
    assert stored is not None and stored.status == "done" and stored.parent_ts == parent


def test_work_that_cannot_be_redone_says_so_in_its_message_and_its_thread_answers_accordingly(
        standin: SlackApiStandin, store: Store, database_url: str) -> None:
    task, parent = _left_by_a_dead_replica(store, standin, attempts=2)  # it killed two replicas
    with http_bot(standin, ScriptedRun(), database_url=database_url) as bot_:
        standin.wait_for(lambda calls: any("was interrupted" in c.params.get("text", "")
                                           for c in calls if c.method == "respond"))
        stuck = [c for c in standin.of("chat.update") if c.params["ts"] == parent]
        assert "was interrupted" in stuck[-1].params["text"]
        assert "/chimera analyze a.tar.gz" in stuck[-1].params["text"]
        failed = store.runs.get_run(task.run_id)
        assert failed is not None and failed.status == "failed" and failed.error.startswith("interrupted")
        status, _, _ = bot_.event({"type": "message", "channel": CHANNEL, "channel_type": "channel",
                                   "user": "U0002", "text": "what was the p95?", "ts": "1700000900.000001",
                                   "thread_ts": parent, "event_ts": "1700000900.000001"}, event_id="EvQ")
        assert status == 200
        standin.wait_for(lambda calls: any("This analysis was interrupted" in c.params.get("text", "")
                                           for c in calls if c.method == "chat.update"))
    assert len(top := [c for c in standin.of("chat.postMessage") if not c.params.get("thread_ts")]) == 1, top
    assert store.tasks.get(task.id).state == "failed"


def test_message_of_looks_in_slack_only_when_someone_may_have_posted(standin: SlackApiStandin,
                                                                        store: Store) -> None:
    task, parent = _left_by_a_dead_replica(store, standin)
    ops = SlackOps(build_web_client(bot_settings(standin)))
    stored = store.tasks.get(task.id)
    assert stored is not None and stored.message_ts is None
    first_try = Task(**{**stored.__dict__, "attempt": 1, "previous_owner": None})
    taken_over = Task(**{**stored.__dict__, "attempt": 2, "previous_owner": "elsewhere:1:dead:0"})
    before = len(standin.calls)
    assert message_of(first_try, ops, channel=CHANNEL) is None and len(standin.calls) == before  # no Slack call
    assert message_of(taken_over, ops, channel=CHANNEL) == parent  # found by its tag


def test_scratch_of_killed_processes_is_swept_and_that_of_live_ones_kept(tmp_path: Path) -> None:
    work = tmp_path / "work"
    host = __import__("bot.adapters.extract", fromlist=["_host"])._host()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folders: dict[str, Any] = {
        "dead": work / f"archive-{host}-{dead.pid}-abc123",
        "alive": work / f"archive-{host}-{os.getppid()}-def456",
        "mine": work / f"archive-{host}-{os.getpid()}-ghi789",
        "other host": work / f"archive-elsewhere-{dead.pid}-jkl012",
        "not ours": work / "reports",
    }
    for folder in folders.values():
        (folder / "tree").mkdir(parents=True)
    removed = sweep_scratch(work, is_alive=process_exists)
    assert removed == [folders["dead"]]
    assert all(folders[name].exists() for name in ("alive", "mine", "other host", "not ours"))
    # at start-up this process has made no scratch yet: one with its PID is a predecessor's
    assert sweep_scratch(work, is_alive=process_exists, at_start=True) == [folders["mine"]]
