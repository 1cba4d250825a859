"""The composition root: every adapter is built here, once, and plugged into the flows.

`bot.serve` calls these builders; nothing here runs at import. The analysis pipeline alone is
composed in `bot.pipeline_app` (what `chimera analyze` loads), re-exported here. Tests call the same
builders with settings that point at local stand-ins (``SLACK_API_URL``, ``OLLAMA_HOST``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackClientError

from bot.adapters.archives import StorageArchives
from bot.adapters.db import Store, open_store
from bot.adapters.db.engine import parse_url
from bot.adapters.doctor import run_doctor
from bot.adapters.extract import sweep_scratch
from bot.adapters.ollama_chat import OllamaChat
from bot.adapters.replica import ReplicaIdentity, process_exists
from bot.adapters.scheduler import DIGEST_WORKERS, DigestScheduler
from bot.adapters.slack import SlackOps, build_web_client
from bot.core.redact import redact_secrets
from bot.errors import DatabaseBusy, DatabaseConfigError, SlackConfigError, SlackStartupError, StoreError
from bot.flows.analysis_job import AnalysisTasks
from bot.flows.announce import POSITION_EDIT_TIMEOUT_S, QueuePositions
from bot.flows.compare import CompareTasks
from bot.flows.digest import DigestPorts, DigestTasks
from bot.flows.health import HealthProbe
from bot.flows.jobs import JobPool, TrackedExecutor
from bot.flows.pipeline import RunsAnalyses
from bot.flows.services import Services
from bot.flows.tasks import Me, QueueSettings, TaskRunner, prune_old_records
from bot.flows.thread_answer import AnswerTasks
from bot.pipeline_app import build_pipeline
from bot.render.slack_text import escape_mrkdwn
from bot.settings import Settings
from handlers.registry import register

__all__ = ["build_app", "build_pipeline", "build_scheduler", "build_services", "check_slack_settings", "ollama_health"]

log = logging.getLogger(__name__)

# Listener work that calls outside (events, status replies): threads and how many may wait. Quick
# work that need not outlive this replica (a retried event is handled again), so it stays in memory;
# analyses, comparisons, thread answers and digests are durable tasks (`bot.flows.tasks`).
SIDE_WORKERS, SIDE_MAX_QUEUE = 4, 100
# Bolt's listener threads (its default is 5); listeners only parse, queue and ack.
LISTENER_THREADS = 8
# Comparisons run on the analysis workers (the same memory bound per job, one line in `status`).
TASK_LANES = {"compare": "analysis"}


def open_database(settings: Settings, *, wait_s: float = 0.0, stop: threading.Event | None = None) -> Store:
    """The bot's database, migrated (see `bot.adapters.db.open_store`).

    A database that refuses writes (a read-only file, role or server) is refused with one line
    (`DatabaseConfigError`). A database server that is not reachable yet (the bot started first, or it is restarting) is
    retried with backoff (0.5 s doubling to 15 s) for up to ``wait_s`` seconds, or until ``stop``
    is set; then the last `StoreError` is raised. A URL that cannot work is not retried, and
    neither is an unreadable SQLite file (a local file does not come up later) — but a SQLite file
    another process holds locked (replicas starting together on one new file) is (`DatabaseBusy`).
    """
    deadline = time.monotonic() + wait_s
    delay = 0.5
    attempt = 1
    while True:
        try:
            store = open_store(settings.database_url, connect_timeout_s=settings.database_connect_timeout_s,
                               busy_timeout_s=settings.database_busy_timeout_s,
                               max_measurements=settings.max_job_measurements)
            refused = store.read_only_reason()
            if refused is not None:
                store.close()
                raise DatabaseConfigError(f"DATABASE_URL is a read-only database ({refused}); the bot records "
                                          "runs, digests and its work queue there: give it a writable one.")
            return store
        except StoreError as err:
            left = deadline - time.monotonic()
            sqlite = parse_url(settings.database_url).get_backend_name() == "sqlite"
            if left <= 0 or (sqlite and not isinstance(err, DatabaseBusy)):
                raise
            log.warning("the database is not available yet (attempt %d: %s); retrying in %.1f s",
                        attempt, err.__cause__.__class__.__name__ if err.__cause__ else err, min(delay, left))
            if stop is not None and stop.wait(min(delay, left)):
                raise
            if stop is None:
                time.sleep(min(delay, left))
            delay, attempt = min(delay * 2, 15.0), attempt + 1


def queue_settings(settings: Settings) -> QueueSettings:
    return QueueSettings(lease_s=settings.lease_s, heartbeat_s=settings.heartbeat_s, poll_s=settings.task_poll_s,
                         max_attempts=settings.task_max_attempts, maintenance_s=settings.maintenance_interval_s,
                         keep_events=timedelta(hours=settings.events_keep_h))


def build_runner(settings: Settings, *, store: Store, workers: Mapping[str, int]) -> TaskRunner:
    """This replica's task runner (not started, no handlers yet): ``workers`` per task kind."""
    me = ReplicaIdentity.for_this_process(settings.replica_host)

    def maintenance() -> None:
        prune_old_records(tasks=store.tasks, replicas=store.replicas, events=store.events,
                          settings=queue_settings(settings))
        sweep_scratch(settings.work_dir, is_alive=process_exists)

    return TaskRunner(tasks=store.tasks, replicas=store.replicas,
                      me=Me(id=me.id, host=me.host, pid=me.pid, owner_is_gone=me.owner_is_gone),
                      settings=queue_settings(settings), workers=workers, lanes=TASK_LANES,
                      maintenance=maintenance)


def digest_ports(settings: Settings, *, store: Store, pipeline: RunsAnalyses | None = None) -> DigestPorts:
    return DigestPorts(store=store, archives=StorageArchives(settings), poster=SlackOps(build_web_client(settings)),
                       pipeline=pipeline or build_pipeline(settings), use_llm=settings.digest_use_llm)


def build_scheduler(settings: Settings, *, store: Store, pipeline: RunsAnalyses | None = None,
                    runner: TaskRunner | None = None) -> DigestScheduler:
    """The digest scheduler (not started): its fires queue tasks that ``runner`` (this replica's;
    any replica's) runs with the digest ports: this store, the storage roots, Slack, the pipeline."""
    ports = digest_ports(settings, store=store, pipeline=pipeline)
    if runner is not None:
        runner.handle("digest", DigestTasks(ports))
    return DigestScheduler(settings=settings, ports=ports, wake=runner.wake if runner is not None else lambda: None)


def ollama_health(settings: Settings) -> str:
    """`bot.adapters.doctor.run_doctor` (reachable? model pulled? context fits?) as status lines."""
    lines = []
    for check in run_doctor(settings):
        line = f"{':white_check_mark:' if check.ok else ':x:'} {escape_mrkdwn(check.detail)}"
        if check.fix and not check.ok:
            line += f" — {escape_mrkdwn(check.fix)}"
        lines.append(line)
    return "\n• ".join(lines)


def build_services(
    settings: Settings,
    *,
    pipeline: RunsAnalyses | None = None,
    health: Callable[[], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    store: Store | None = None,
) -> Services:
    """Everything the listeners need: the pipeline, the database, this replica's task runner
    (analyses, comparisons, thread answers, digests), the side pool for quick listener work, the
    digest scheduler, the Ollama check (behind `HealthProbe`). The runner and the scheduler are
    built, not started: `bot.serve` starts them (`start_services`)."""
    pipeline = pipeline or build_pipeline(settings)
    store = store or open_database(settings)
    runner = build_runner(settings, store=store, workers={"analysis": settings.workers, "answer": settings.workers,
                                                          "digest": DIGEST_WORKERS})
    check = health or (lambda: ollama_health(settings))
    poster = SlackOps(build_web_client(settings))
    services = Services(
        settings=settings,
        pipeline=pipeline,
        chat=OllamaChat(settings),
        health=check,
        store=store,
        runner=runner,
        poster=poster,
        clock=clock,
        side=JobPool(workers=SIDE_WORKERS, max_queue=SIDE_MAX_QUEUE, name="chimera-side"),
        probe=HealthProbe(check),
        listeners=TrackedExecutor(workers=LISTENER_THREADS),
        # Position edits: one try, a short timeout (a 429 skips the edit, the next look retries), so
        # none lands long after the look that found the task still waiting (see bot.flows.announce).
        positions=QueuePositions(tasks=store.tasks, poster=SlackOps(build_web_client(
                                     settings, timeout_s=POSITION_EDIT_TIMEOUT_S, retries=False)),
                                 capacity=runner.fleet_workers, clock=clock, interval_s=1.0,
                                 poll_s=settings.task_poll_s),
    )
    runner.handle("analysis", AnalysisTasks(services))
    runner.handle("compare", CompareTasks(services))
    runner.handle("answer", AnswerTasks(services))
    services.scheduler = build_scheduler(settings, store=store, pipeline=pipeline, runner=runner)
    return services


def start_services(services: Services) -> None:
    """Start working: the task runner (claims queued work, resumes what a dead replica left), then
    the digest scheduler."""
    services.runner.start()
    if services.scheduler is not None:
        services.scheduler.start()


def stop_services(services: Services, *, grace_s: float) -> None:
    """Stop firing digests; give running tasks ``grace_s`` to finish; hand the rest back to the
    queue (another replica, or this one after its restart, resumes them)."""
    if services.scheduler is not None:
        services.scheduler.shutdown(wait=False)
    if services.positions is not None:  # queued messages keep their last position
        services.positions.stop()
    services.runner.shutdown(grace_s=grace_s)
    if services.side is not None:  # event handling and status replies: short work
        services.side.shutdown(timeout_s=1.0)


def check_slack_settings(settings: Settings) -> None:
    """Raise `SlackConfigError` naming what is missing for the chosen mode (before anything starts)."""
    if settings.slack_bot_token is None:
        raise SlackConfigError("SLACK_BOT_TOKEN is not set (the xoxb- token from the app's OAuth page).")
    if settings.slack_mode == "http" and not settings.slack_signing_secret:
        raise SlackConfigError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http.")
    if settings.slack_mode == "socket" and settings.slack_app_token is None:
        raise SlackConfigError("SLACK_APP_TOKEN (xapp-…, scope connections:write) is required for "
                               "Socket Mode; or set SLACK_MODE=http with SLACK_SIGNING_SECRET.")


def _slack_error_code(err: BoltError) -> str:
    """Slack's error code from Bolt's auth.test failure message (e.g. ``invalid_auth``)."""
    cause = err.__cause__ or err.__context__  # Bolt raises it while handling the SlackApiError
    response = getattr(cause, "response", None)
    code = response.get("error") if response is not None and hasattr(response, "get") else None
    return str(code) if code else "auth.test failed"


def _reason(err: BaseException) -> str:
    inner = getattr(err, "reason", None)  # urllib's URLError wraps the socket error
    text = str(getattr(inner, "strerror", None) or inner or err) or type(err).__name__
    return redact_secrets(" ".join(text.split()))[:200]


def build_app(settings: Settings, services: Services) -> App:
    """A Bolt App whose client talks to ``settings.slack_api_url``, with every listener registered.

    HTTP mode verifies each request's signature with SLACK_SIGNING_SECRET (Bolt's
    RequestVerification: v0 HMAC-SHA256, 5-minute timestamp window). Socket Mode requests arrive
    over the app-token WebSocket, so no signing secret is needed there.
    """
    check_slack_settings(settings)
    http_mode = settings.slack_mode == "http"
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    try:
        app = App(
            client=build_web_client(settings),
            signing_secret=secret,  # explicit (even ""), so Bolt never falls back to the environment
            request_verification_enabled=http_mode,
            token_verification_enabled=True,  # auth.test at start-up: fail fast on a bad token
            name="chimera-insight",
            logger=logging.getLogger("slack_bolt"),
            listener_executor=services.listeners,  # None: Bolt's own
        )
    except BoltError as err:  # Slack answered auth.test with an error: the token is refused
        raise SlackStartupError(f"Slack refused SLACK_BOT_TOKEN at start-up ({_slack_error_code(err)}): "
                                "check the token and that the app is installed in the workspace.") from err
    except (SlackClientError, OSError) as err:  # no answer: network, proxy or SLACK_API_URL
        raise SlackStartupError(f"Slack's API at {redact_secrets(settings.slack_api_url)} "
                                f"could not be reached at start-up ({_reason(err)}): check the network "
                                "or SLACK_API_URL, then start again.") from err
    register(app, services)
    return app
