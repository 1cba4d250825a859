"""Test support for the Slack tests: a running HTTP-mode bot, signed requests, a scripted pipeline.

The scripted `ScriptedRun` stands in only for the analysis (the `Services.pipeline` port) so a
test can hold a job open or make it fail on cue; the Slack side is all real (Bolt, slack_sdk,
waitress) talking to the stand-ins over loopback HTTP.

No test here reads the wall clock:
- "Acked within Slack's 3 s" is a status 200 carrying the ack's text: Bolt waits at most its
  3-s ``ack_timeout`` for a listener's ack and answers 404 ("unhandled request") without it.
- "The ack did not wait for the work" is an ack that arrives while the work is held (a
  `ScriptedRun` before ``release``, or a stand-in model reply before its ``hold`` is set).
- "Nothing (more) happened" is checked after `RunningBot.settle`, which waits until everything
  the bot accepted has finished, instead of sleeping and hoping.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App

from bot.app import build_app, build_services, stop_services
from bot.core.records import TASK_KINDS
from bot.flows.jobs import JobPool
from bot.flows.pipeline import RunResult, RunsAnalyses
from bot.flows.services import Services
from bot.serve import HttpServer, make_wsgi_app
from bot.settings import Settings
from tests.clocks import StepClock
from tests.factories import make_settings, run_result
from tests.standins.slack_api import SlackApiStandin, sign

SECRET = "test-signing-secret"


class ScriptedRun:
    """The analysis seam (the `Services.pipeline` port): reports the four progress steps, optionally
    waits for `release`, then returns a real `RunResult` (`tests.factories.run_result`) or raises
    ``error``. Records each call's arguments."""

    def __init__(self, *, narrative: str = "gemma3:270m is fastest [F3].") -> None:
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.error: Exception | None = None
        self.narrative = narrative
        self.calls: list[dict[str, Any]] = []

    def run(self, target: str, *, use_llm: bool = True, allow_local_paths: bool = False,
            progress: Callable[[str], None] | None = None) -> RunResult:
        self.calls.append({"target": target, "use_llm": use_llm, "allow_local_paths": allow_local_paths})
        self.started.set()
        for step in ("fetched", "3 files ingested", "analyzed", "writing summary"):
            if progress:
                progress(step)
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        return run_result(target, self.narrative)


class CountingExecutor(Executor):
    """Wraps Bolt's listener executor (same threads, same concurrency) and counts the listener runs
    still in flight, so a test can wait until every request Bolt has accepted was handled."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner
        self._in_flight = 0
        self._cond = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def counted() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

        with self._cond:
            self._in_flight += 1
        try:
            return self._inner.submit(counted)
        except BaseException:
            with self._cond:
                self._in_flight -= 1
            raise

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)

    def idle(self) -> bool:
        with self._cond:
            return self._in_flight == 0

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._in_flight == 0, timeout)


def count_listeners(app: App) -> CountingExecutor:
    """Route ``app``'s listener runs through a `CountingExecutor` (the bot has no lazy listeners)."""
    runner = app.listener_runner
    counting = CountingExecutor(runner.listener_executor)
    runner.listener_executor = counting
    return counting


def _pool_idle(pool: JobPool | None) -> bool:
    if pool is None:
        return True
    status = pool.status()
    return status.running == 0 and status.queued == 0


def _tasks_idle(services: Services) -> bool:
    """No task of the durable queue waiting or running (in the database), none busy here."""
    if any(services.runner.status().busy.values()):
        return False
    counts = services.store.tasks.counts(TASK_KINDS)
    return counts["queued"] == 0 and counts["running"] == 0


@dataclass
class RunningBot:
    url: str
    services: Services
    standin: SlackApiStandin
    listeners: CountingExecutor

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has finished everything it accepted so far: every Bolt listener run
        has returned, the side pool is idle and the durable queue holds no waiting or running task
        (analyses, comparisons, answers, digests). A request's listener is submitted before its
        HTTP response is sent, and a request's work is queued before its ack, so after this every
        effect of every request already answered has reached the stand-ins: a test can then assert
        that something did NOT happen without sleeping."""
        if not self.listeners.wait_idle(timeout):
            raise AssertionError(f"Bolt listeners still running after {timeout} s")
        # The pools have no "wait until idle": poll their state, which only changes when work ends
        # (counting rounds, not reading a clock: some callers run under freezegun).
        for _ in range(int(timeout / 0.01)):
            if _pool_idle(self.services.side) and _tasks_idle(self.services):
                return
            time.sleep(0.01)
        raise AssertionError(f"the bot did not settle within {timeout} s: runner {self.services.runner.status()}, "
                             f"tasks {self.services.store.tasks.counts(TASK_KINDS)}")

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
        """POST to /slack/events; returns (status, body, seconds taken). Tests assert nothing about
        the seconds (see the module docstring); bench/bench_slack.py reports them as ack latency."""
        req = urllib.request.Request(f"{self.url}/slack/events", data=body, headers=headers, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode(), time.perf_counter() - started
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), time.perf_counter() - started

    def command(self, text: str, *, channel: str = "C0001", user: str = "U0001", name: str = "cmd",
                secret: str = SECRET, timestamp: int | None = None) -> tuple[int, str, float]:
        body = urlencode({
            "token": "legacy", "team_id": "T0001", "team_domain": "example", "channel_id": channel,
            "channel_name": "benchmarks", "user_id": user, "user_name": "ana", "command": "/chimera",
            "text": text, "api_app_id": "A0001", "response_url": self.standin.response_url(name),
            "trigger_id": "1.2.3",
        }).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   **sign(secret, body, timestamp=timestamp)}
        return self.post(body, headers)

    def event(self, event: dict[str, Any], *, event_id: str, retry_num: int | None = None) -> tuple[int, str, float]:
        body = json.dumps({
            "token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT0001", "is_bot": True}],
        }).encode()
        headers = {"Content-Type": "application/json", **sign(SECRET, body)}
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        return self.post(body, headers)


def bot_settings(standin: SlackApiStandin, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET,
        "slack_app_token": "xapp-test", "slack_api_url": standin.api_url, "slack_mode": "http",
        "http_host": "127.0.0.1", "http_port": 0, "workers": 2, "max_queue": 3,
        # the durable queue, quick: idle replicas look for work often, leases are short
        "task_poll_s": 0.1, "heartbeat_s": 0.5, "lease_s": 5.0,
    }
    values.update(overrides)
    return make_settings(**values)


@contextmanager
def http_bot(standin: SlackApiStandin, run: RunsAnalyses | None, *, clock: Callable[[], float] | None = None,
             real_health: bool = False, **overrides: Any) -> Iterator[RunningBot]:
    """A running HTTP-mode bot; ``run`` scripts the pipeline (None: the real one). The Ollama
    check of `/chimera status` is a canned line unless ``real_health`` (the doctor's checks
    against ``ollama_host``)."""
    settings = bot_settings(standin, **overrides)
    services = build_services(settings, pipeline=run,
                              health=None if real_health else (lambda: "Ollama: stand-in healthy"),
                              clock=clock or StepClock(1.0))
    app = build_app(settings, services)
    listeners = count_listeners(app)
    server = HttpServer(make_wsgi_app(app, services), host="127.0.0.1", port=0)
    server.start()
    services.runner.start()
    try:
        yield RunningBot(f"http://127.0.0.1:{server.port}", services, standin, listeners)
    finally:
        if isinstance(run, ScriptedRun):
            run.release.set()
        stop_services(services, grace_s=5)
        server.stop()
        services.store.close()


def upload_done(calls: list) -> bool:
    """The report upload finished (files.completeUploadExternal was called)."""
    return any(c.method == "files.completeUploadExternal" for c in calls)
