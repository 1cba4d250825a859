"""`chimera serve`: run the bot in Socket Mode (default) or HTTP mode until SIGTERM/SIGINT.

HTTP mode serves Bolt through waitress (a production WSGI server): ``POST /slack/events`` for
commands and events (signature-checked by Bolt) and ``GET /health`` for probes. Socket Mode opens
no port. On shutdown, intake stops first, then running jobs get a grace period; queued and
unfinished jobs are failed and their users told (see `bot.flows.jobs.JobPool.shutdown`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore

import bot
from bot.adapters.http_guard import guard_slack_events
from bot.app import build_app, build_services, check_slack_settings
from bot.errors import ConfigError
from bot.flows.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024  # the MAX_REQUEST_BYTES default
SHUTDOWN_GRACE_S = 25.0  # under Docker's default 30 s stop timeout

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_wsgi_app(app: App, services: Services) -> WsgiApp:
    """Bolt on ``/slack/events`` plus a ``GET /health`` that reports the job pool (no secrets).

    Bolt sits behind `bot.adapters.http_guard`: bodies are capped at MAX_REQUEST_BYTES and only
    signed requests are read at all.
    """
    settings = services.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    slack = guard_slack_events(SlackRequestHandler(app, path=EVENTS_PATH), path=EVENTS_PATH,
                               signing_secret=secret, max_bytes=settings.max_request_bytes)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health" and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            pool = services.jobs.status()
            body = json.dumps({"status": "ok", "version": bot.__version__, "running": pool.running,
                               "queued": pool.queued, **readiness(services)}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return wsgi


def readiness(services: Services) -> dict[str, Any]:
    """``ready`` is false while a pool is saturated (every worker busy, its queue full; or every
    listener thread busy): new work would be refused or would miss Slack's 3 s. ``saturated``
    names those pools."""
    full = services.saturated()
    return {"ready": not full, "saturated": full}


class HttpServer:
    """waitress in a background thread; ``port`` is the bound port (useful with port 0).

    We drive waitress's event loop ourselves, one poll at a time, so `stop` can end it from
    another thread without closing sockets under a running ``select`` (waitress's own ``run``
    only ends on a signal).
    """

    def __init__(self, wsgi: WsgiApp, *, host: str, port: int, threads: int = 8,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        # waitress buffers a whole body before the app runs: its cap (413 as soon as the headers
        # declare more, or once a chunked body passes it) is what bounds memory per request.
        self._server: Any = waitress.create_server(wsgi, host=host, port=port, threads=threads,
                                                   ident="chimera-insight",
                                                   max_request_body_size=max_request_bytes)
        self.port: int = int(self._server.effective_port)
        self.host = host
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http-server", daemon=True)

    def _run(self) -> None:
        server = self._server
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
        finally:
            for channel in list(server._map.values()):  # listener, trigger, open connections
                with contextlib.suppress(OSError):
                    channel.close()
            server.task_dispatcher.shutdown()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._server.trigger.pull_trigger()  # wakes the poll at once
        self._thread.join(timeout=timeout_s)


def serve(settings: Settings, *, services: Services | None = None,
          stop: threading.Event | None = None, grace_s: float = SHUTDOWN_GRACE_S) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set, for embedding and tests); then give running
    jobs ``grace_s`` seconds to finish."""
    check_slack_settings(settings)  # fail before opening the database or starting workers
    services = services or build_services(settings)
    app = build_app(settings, services)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())

    if settings.slack_mode == "http":
        try:
            server = HttpServer(make_wsgi_app(app, services), host=settings.http_host, port=settings.http_port,
                                max_request_bytes=settings.max_request_bytes)
        except (OSError, ValueError) as exc:  # address in use, unknown host, port out of range
            services.jobs.shutdown(timeout_s=0)
            raise ConfigError(f"cannot listen on HTTP_HOST={settings.http_host} HTTP_PORT={settings.http_port}: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
        server.start()
        log.info("HTTP mode: listening on %s:%d (%s, /health)", settings.http_host, server.port, EVENTS_PATH)
        close: Callable[[], None] = server.stop
    else:
        assert settings.slack_app_token is not None  # check_slack_settings
        handler = SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
        handler.connect()
        log.info("Socket Mode: connected")
        close = handler.close

    if services.scheduler is not None:
        services.scheduler.start()  # digests fire from now on (jobs live in the bot's database)
        log.info("digest scheduler started")
    stop.wait()
    log.info("shutting down: no new jobs; waiting up to %.0f s for running ones", grace_s)
    # No new digest fires; a digest already running finishes in its own thread.
    if services.scheduler is not None:
        services.scheduler.shutdown(wait=False)
    # Keep the connection open while jobs finish so their Slack calls still work; intake is
    # refused by the closed pool (users get "the bot is restarting").
    deadline = time.monotonic() + grace_s
    services.jobs.shutdown(timeout_s=grace_s)
    if services.answers is not None:  # thread answers: whatever is left of the grace (at least 1 s)
        services.answers.shutdown(timeout_s=max(1.0, deadline - time.monotonic()))
    if services.side is not None:  # event handling and status replies: short work
        services.side.shutdown(timeout_s=1.0)
    close()
    log.info("stopped")
