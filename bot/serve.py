"""`chimera serve`: run the bot in Socket Mode (default) or HTTP mode until SIGTERM/SIGINT.

HTTP mode serves Bolt through waitress (a production WSGI server): ``POST /slack/events`` for
commands and events (capped and signature-checked before Bolt reads them: `bot.adapters.http_guard`),
``GET /health`` (liveness: the process serves requests; with ``ready``/``saturated``, the in-process
part of readiness) and ``GET /health/ready`` (readiness: the database answers, the scheduler and the
task runner run, neither the database pool nor any worker or request pool is saturated). Socket Mode
opens no port unless HEALTH_PORT asks for the probes.

Start-up: the HTTP server comes up first and answers the probes (live, not ready; Slack's requests
get 503 and are redelivered) while the database is waited for with backoff
(``DATABASE_STARTUP_WAIT_S``); then the schema is migrated under a lock, scratch left by a killed
predecessor is removed, the task runner resumes the work dead replicas left, and the scheduler
starts. Shutdown: intake stops, running tasks get a grace period, and what is unfinished goes back
to the durable queue for another replica, or this one after its restart (`bot.flows.tasks`).
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
from bot.adapters.db.engine import is_memory_sqlite
from bot.adapters.extract import sweep_scratch
from bot.adapters.http_guard import guard_slack_events
from bot.adapters.replica import process_exists
from bot.allocator import tune_allocator
from bot.app import build_app, build_services, check_slack_settings, open_database, start_services, stop_services
from bot.errors import ConfigError, DatabaseConfigError
from bot.flows.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024  # the MAX_REQUEST_BYTES default
SHUTDOWN_GRACE_S = 25.0  # under Docker's default 30 s stop timeout
PING_TIMEOUT_S = 1.0  # readiness never waits longer than this on the database

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json(start_response: Callable[..., Any], status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


LOCAL_POOLS = ("side",)  # besides Bolt's listener threads, checked on their own


def saturation(services: Services, *, listener_busy: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The in-process part of readiness, cheap enough for every ``/health`` (no database call):
    ``saturated`` names the pools that cannot take more work right now (every worker busy and
    its queue full, or every listener / request thread busy: new work would be refused or would
    miss Slack's 3 s); ``ready`` is false while any is."""
    full = services.saturated()
    if listener_busy() and "listeners" not in full:
        full.append("listeners")
    return {"ready": not full, "saturated": full}


class Readiness:
    """Answers ``/health/ready``: one database ping at a time, bounded by `PING_TIMEOUT_S` (a hung
    database makes the probe say "not ready", never makes the probe itself hang), plus the
    in-process checks (`saturation`)."""

    def __init__(self, services: Services, *, listener_busy: Callable[[], bool] = lambda: False) -> None:
        self._services = services
        self._listener_busy = listener_busy
        self._lock = threading.Lock()

    def _ping(self) -> dict[str, Any]:
        if not self._lock.acquire(timeout=PING_TIMEOUT_S):  # an earlier ping is still waiting on the database
            return {"reachable": False, "error": "the previous ping has not been answered yet"}
        result: dict[str, Any] = {}

        def ping() -> None:
            try:
                result.update(self._services.store.ping())
            finally:
                self._lock.release()

        thread = threading.Thread(target=ping, name="readiness-ping", daemon=True)
        thread.start()
        thread.join(PING_TIMEOUT_S)
        if thread.is_alive():
            return {"reachable": False, "error": f"no answer within {PING_TIMEOUT_S:.0f} s"}
        return result

    def check(self) -> tuple[bool, dict[str, Any]]:
        services = self._services
        database = self._ping()
        pool_full = bool(database.get("pool_capacity")) and \
            database.get("pool_in_use", 0) >= database.get("pool_capacity", 0)
        scheduler_running = services.scheduler is None or bool(getattr(services.scheduler, "running", True))
        saturated = saturation(services, listener_busy=self._listener_busy)["saturated"]
        checks = {
            "database": bool(database.get("reachable")),
            "database_pool": not pool_full,
            "scheduler": scheduler_running,
            "task_runner": services.runner.running,
            "listeners": "listeners" not in saturated,
            # Only this replica's own pools: "jobs"/"answers" mean the shared queue is full, true of
            # every replica at once — taking them all out of rotation would silence help, status
            # and the "queue full" replies too.
            "pools": not [name for name in saturated if name in LOCAL_POOLS],
        }
        runner = services.runner.status()
        detail = {"checks": checks, "saturated": saturated, "database": database, "workers": dict(runner.workers),
                  "busy": dict(runner.busy), "fleet_workers": services.runner.fleet_workers(),
                  "replica": services.runner.me.id}
        return all(checks.values()), detail


def make_wsgi_app(app: App | None, services: Services | None, *,
                  listener_busy: Callable[[], bool] = lambda: False) -> WsgiApp:
    """Bolt on ``/slack/events`` plus the probes (no secrets).

    - ``GET /health`` — liveness (the process serves requests; never waits on the database), with
      the in-process part of readiness: ``ready`` and ``saturated`` (`saturation`);
    - ``GET /health/ready`` — readiness: 200 only when the database answers, the scheduler and the
      task runner run and nothing is saturated; else 503 with the failing checks.

    Bolt sits behind `bot.adapters.http_guard`: bodies are capped at MAX_REQUEST_BYTES and only
    signed requests are read at all. Without services yet (start-up is waiting for the database):
    live, not ready, and Slack is asked to redeliver (503). Without an app (Socket Mode's probe
    port): the probes only.
    """
    slack: WsgiApp | None = None
    if app is not None and services is not None:
        settings = services.settings
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        slack = guard_slack_events(SlackRequestHandler(app, path=EVENTS_PATH), path=EVENTS_PATH,
                                   signing_secret=secret, max_bytes=settings.max_request_bytes)
    readiness = Readiness(services, listener_busy=listener_busy) if services is not None else None

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path in {"/health", "/health/live"} and method in {"GET", "HEAD"}:
            payload: dict[str, Any] = {"status": "ok", "version": bot.__version__}
            if services is not None:
                status = services.runner.status()
                payload.update(running=sum(status.busy.values()), queued=services.runner.queued(),
                               starting=False, **saturation(services, listener_busy=listener_busy))
            else:
                payload.update(starting=True)
            return _json(start_response, "200 OK", payload)
        if path == "/health/ready" and method in {"GET", "HEAD"}:
            if readiness is None:
                return _json(start_response, "503 Service Unavailable",
                             {"status": "starting", "version": bot.__version__})
            ready, detail = readiness.check()
            return _json(start_response, "200 OK" if ready else "503 Service Unavailable",
                         {"status": "ready" if ready else "not ready", "version": bot.__version__, **detail})
        if slack is None:
            return _json(start_response, "503 Service Unavailable", {"error": "starting; please retry"})
        return slack(environ, start_response)

    return wsgi


class HttpServer:
    """waitress in a background thread; ``port`` is the bound port (useful with port 0).

    We drive waitress's event loop ourselves, one poll at a time, so `stop` can end it from
    another thread without closing sockets under a running ``select`` (waitress's own ``run``
    only ends on a signal). `swap` replaces the WSGI app (start-up: probes first, then Slack).
    """

    def __init__(self, wsgi: WsgiApp, *, host: str, port: int, threads: int = 8,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self._wsgi = wsgi
        # waitress buffers a whole body before the app runs: its cap (413 as soon as the headers
        # declare more, or once a chunked body passes it) is what bounds memory per request.
        self._server: Any = waitress.create_server(self._dispatch, host=host, port=port, threads=threads,
                                                   ident="chimera-insight",
                                                   max_request_body_size=max_request_bytes)
        self.port: int = int(self._server.effective_port)
        self.host = host
        self._stopping = threading.Event()
        # `stop` pulls waitress's trigger (a pipe) while `_run` may be closing it: a write to the
        # closed descriptor raised EBADF out of `stop` (hiding the start-up error being reported),
        # and a reused descriptor number would take a stray byte. The lock orders the two.
        self._closing = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="http-server", daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._wsgi(environ, start_response)

    def swap(self, wsgi: WsgiApp) -> None:
        self._wsgi = wsgi

    def busy(self) -> bool:
        """Every request thread is busy and requests are waiting for one."""
        dispatcher = self._server.task_dispatcher
        return bool(getattr(dispatcher, "queue", None)) and \
            getattr(dispatcher, "active_count", 0) >= len(getattr(dispatcher, "threads", ()) or ())

    def _run(self) -> None:
        server = self._server
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
        finally:
            with self._closing:
                self._closed = True
                for channel in list(server._map.values()):  # listener, trigger, open connections
                    with contextlib.suppress(OSError):
                        channel.close()
            server.task_dispatcher.shutdown()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        with self._closing:
            if not self._closed:
                self._server.trigger.pull_trigger()  # wakes the poll at once
        self._thread.join(timeout=timeout_s)


def serve(settings: Settings, *, services: Services | None = None,
          stop: threading.Event | None = None, grace_s: float = SHUTDOWN_GRACE_S) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set, for embedding and tests); then give running
    work ``grace_s`` seconds to finish and hand the rest back to the queue."""
    tune_allocator()  # before any job: an analysis's freed temporaries go back (bot/allocator.py)
    check_slack_settings(settings)  # fail before opening the database or starting workers
    if services is None and is_memory_sqlite(settings.database_url):
        # Runs, digests and the work queue would vanish with the process, and no replica could
        # share them. (Tests that want one build their services themselves: `services=`.)
        raise DatabaseConfigError("DATABASE_URL is an in-memory SQLite database, which `chimera serve` refuses "
                                  "(everything would be lost at exit); use a file, e.g. "
                                  "sqlite:///./chimera.sqlite3, or postgresql://….")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())

    server = _listen(settings)  # the probes answer while the database is waited for
    try:
        if services is None:
            store = open_database(settings, wait_s=settings.database_startup_wait_s, stop=stop)
            sweep_scratch(settings.work_dir, is_alive=process_exists, at_start=True)
            services = build_services(settings, store=store)
        app = build_app(settings, services)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    start_services(services)  # resumes the work a dead predecessor left, then digests fire
    log.info("replica %s started", services.runner.me.id)
    closers = _connect(settings, app, services, server)

    stop.wait()
    log.info("shutting down: no new work here; waiting up to %.0f s for running tasks", grace_s)
    started = time.monotonic()
    # Keep the connection open while tasks finish so their Slack calls still work; requests that
    # still arrive are queued durably and run by another replica (or this one after its restart).
    stop_services(services, grace_s=grace_s)
    for close in closers:
        close()
    log.info("stopped after %.1f s", time.monotonic() - started)


def _listen(settings: Settings) -> HttpServer | None:
    """The HTTP server, started with only the probes behind it (Slack's routes come with `_connect`):
    in HTTP mode on HTTP_PORT, in Socket Mode on HEALTH_PORT if set, else none."""
    http_mode = settings.slack_mode == "http"
    if not http_mode and settings.health_port is None:
        return None
    port = settings.http_port if http_mode else int(settings.health_port or 0)
    try:
        server = HttpServer(make_wsgi_app(None, None), host=settings.http_host, port=port,
                            max_request_bytes=settings.max_request_bytes)
    except (OSError, ValueError) as exc:  # address in use, unknown host, port out of range
        name = "HTTP_PORT" if http_mode else "HEALTH_PORT"
        raise ConfigError(f"cannot listen on HTTP_HOST={settings.http_host} {name}={port}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    server.start()
    if http_mode:
        log.info("HTTP mode: listening on %s:%d (%s, /health, /health/ready)", settings.http_host, server.port,
                 EVENTS_PATH)
    else:
        log.info("health probes on %s:%d (/health, /health/ready)", settings.http_host, server.port)
    return server


def _connect(settings: Settings, app: App, services: Services, server: HttpServer | None) -> list[Callable[[], None]]:
    """Start taking Slack's requests (Socket Mode connection, or Bolt behind the HTTP server);
    returns what closes them, in order."""
    closers: list[Callable[[], None]] = []
    http_mode = settings.slack_mode == "http"
    if not http_mode:
        assert settings.slack_app_token is not None  # check_slack_settings
        handler = SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
        handler.connect()
        log.info("Socket Mode: connected")
        closers.append(handler.close)
    if server is not None:
        server.swap(make_wsgi_app(app if http_mode else None, services, listener_busy=server.busy))
        closers.append(server.stop)
    return closers
