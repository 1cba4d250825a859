"""The database goes away: requests are retried within Slack's window, never acked and dropped;
start-up waits for the database; the probes tell liveness from readiness. (Across real processes
and a real PostgreSQL restart: tests/app/test_replicas.py.)"""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.errors import RecordConflict, StoreError
from bot.flows.intake import DATABASE_BUSY
from bot.flows.retry import with_retries
from bot.serve import serve
from tests.pgserver import DatabaseFactory, TestDatabase
from tests.slack_support import ScriptedRun, bot_settings, http_bot
from tests.standins.slack_api import BOT_USER_ID, SlackApiStandin


class FakeClock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_with_retries_backs_off_within_the_budget_then_gives_up() -> None:
    clock, calls = FakeClock(), []

    def down() -> None:
        calls.append(clock.now)
        raise StoreError("down")

    with pytest.raises(StoreError):
        with_retries(down, budget_s=2.0, clock=clock, sleep=clock.sleep)
    assert clock.slept == [0.1, 0.2, 0.4, 0.8, 0.5]  # doubling, the last one cut to the budget
    assert clock.now == pytest.approx(2.0)


def test_with_retries_returns_once_the_database_answers_and_never_retries_a_real_answer() -> None:
    clock, attempts = FakeClock(), iter([StoreError("down"), StoreError("down"), "queued"])

    def flaky() -> str:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retries(flaky, budget_s=2.0, clock=clock, sleep=clock.sleep) == "queued"
    with pytest.raises(RecordConflict):  # the database answered: retrying cannot change that
        with_retries(lambda: (_ for _ in ()).throw(RecordConflict("taken")), budget_s=2.0, clock=clock,
                     sleep=clock.sleep)


@contextmanager
def sqlite_write_locked(path: Path) -> Iterator[None]:
    """Another process holds SQLite's write lock (the closest SQLite has to "the database is down")."""
    lock = sqlite3.connect(path, isolation_level=None, timeout=10)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def test_commands_and_events_during_an_outage_are_told_or_redelivered_never_dropped(
        standin: SlackApiStandin, tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    run = ScriptedRun()
    with http_bot(standin, run, database_url=f"sqlite:///{path}", database_busy_timeout_s=0.1,
                  intake_retry_s=0.3) as bot_:
        mention = {"type": "app_mention", "channel": "C0001", "user": "U0001", "ts": "1700000001.000001",
                   "text": f"<@{BOT_USER_ID}> analyze a.tar.gz", "event_ts": "1700000001.000001"}
        with sqlite_write_locked(path):
            status, body, _ = bot_.command("analyze a.tar.gz")
            # Slack never redelivers a slash command: told to try again (the database is up, only locked)
            assert status == 200 and body == DATABASE_BUSY
            assert bot_.event(mention, event_id="EvDown")[0] == 503  # Slack will redeliver this one
            assert bot_.event(mention, event_id="EvDown", retry_num=1)[0] == 503
        assert bot_.event(mention, event_id="EvDown", retry_num=2)[0] == 200  # back: taken
        standin.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls))
        with sqlite_write_locked(path):  # on Slack's last attempt the user who asked is told
            other = {**mention, "ts": "1700000002.000001"}
            assert bot_.event(other, event_id="EvLast", retry_num=3)[0] == 200
            standin.wait_for(lambda calls: any(c.params.get("text") == DATABASE_BUSY for c in calls
                                               if c.method == "chat.postMessage"))
    assert [c["target"] for c in run.calls] == ["a.tar.gz"]  # the redelivered mention, once


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_start_up_waits_for_the_database_and_the_probes_say_live_but_not_ready(
        standin: SlackApiStandin, postgres_server: DatabaseFactory, postgres_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # PostgreSQL only: a server can be down at start-up; SQLite is a local file (not waited for)
    database = TestDatabase(postgres_url, "postgresql", postgres_server.server)
    if database.server is None:
        pytest.skip("needs the throwaway PostgreSQL (not one given by CHIMERA_TEST_POSTGRES_URL)")
    settings = bot_settings(standin, database_url=database.url, http_port=_free_port(), database_startup_wait_s=60,
                            storage_roots=[str(tmp_path)], work_dir=tmp_path / "work")
    url = f"http://127.0.0.1:{settings.http_port}"
    stop = threading.Event()
    database.server.pause()
    caplog.set_level("WARNING", logger="bot.app")
    server = threading.Thread(target=serve, args=(settings,), kwargs={"stop": stop, "grace_s": 1}, daemon=True)
    server.start()
    try:
        _until(lambda: "the database is not available yet" in caplog.text)
        assert _get(f"{url}/health") == (200, {"status": "ok", "version": _version(), "starting": True})
        assert _get(f"{url}/health/ready")[0] == 503
        assert _get(f"{url}/slack/events")[0] == 503  # Slack is asked to come back later
        database.server.resume()
        _until(lambda: _get(f"{url}/health/ready")[0] == 200)
        live = _get(f"{url}/health")[1]
        assert live["starting"] is False
    finally:
        stop.set()
        server.join(10)
        if database.server.proc is None:
            database.server.resume()
    assert not server.is_alive()


def _until(predicate: Any, timeout: float = 30.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        done.wait(0.05)
    raise AssertionError("condition not reached in time")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version() -> str:
    import bot

    return bot.__version__
