"""Test support for the Slack tests: a running HTTP-mode bot, signed requests, a scripted pipeline.

The scripted `ScriptedRun` stands in only for the analysis (the `Services.pipeline` port) so a
test can hold a job open or make it fail on cue; the Slack side is all real (Bolt, slack_sdk,
waitress) talking to the stand-ins over loopback HTTP.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.app import build_app, build_services, stop_services
from bot.flows.pipeline import RunResult, RunsAnalyses
from bot.flows.services import Services
from bot.serve import HttpServer, make_wsgi_app
from bot.settings import Settings
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


class StepClock:
    """A clock that advances ``step`` seconds per reading (so throttling is deterministic)."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.step
            return self.now


@dataclass
class RunningBot:
    url: str
    services: Services
    standin: SlackApiStandin

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
        """POST to /slack/events; returns (status, body, seconds taken)."""
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
             **overrides: Any) -> Iterator[RunningBot]:
    """A running HTTP-mode bot; ``run`` scripts the pipeline (None: the real one)."""
    settings = bot_settings(standin, **overrides)
    services = build_services(settings, pipeline=run, health=lambda: "Ollama: stand-in healthy",
                              clock=clock or StepClock(1.0))
    app = build_app(settings, services)
    server = HttpServer(make_wsgi_app(app, services), host="127.0.0.1", port=0)
    server.start()
    services.runner.start()
    try:
        yield RunningBot(f"http://127.0.0.1:{server.port}", services, standin)
    finally:
        if isinstance(run, ScriptedRun):
            run.release.set()
        stop_services(services, grace_s=5)
        server.stop()
        services.store.close()


def upload_done(calls: list) -> bool:
    """The report upload finished (files.completeUploadExternal was called)."""
    return any(c.method == "files.completeUploadExternal" for c in calls)
