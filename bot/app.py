"""The composition root: every adapter is built here, once, and plugged into the flows.

`bot.serve` calls these builders; nothing here runs at import. The analysis pipeline alone is
composed in `bot.pipeline_app` (what `chimera analyze` loads), re-exported here. Tests call the same
builders with settings that point at local stand-ins (``SLACK_API_URL``, ``OLLAMA_HOST``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_bolt import App

from bot.adapters.archives import StorageArchives
from bot.adapters.db import Store, open_store
from bot.adapters.doctor import run_doctor
from bot.adapters.ollama_chat import OllamaChat
from bot.adapters.scheduler import DigestScheduler
from bot.adapters.slack import SlackOps, build_web_client
from bot.errors import SlackConfigError
from bot.flows.digest import DigestPorts
from bot.flows.jobs import JobPool
from bot.flows.pipeline import RunsAnalyses
from bot.flows.services import Services
from bot.pipeline_app import build_pipeline
from bot.render.slack_text import escape_mrkdwn
from bot.settings import Settings
from handlers.registry import register

__all__ = ["build_app", "build_pipeline", "build_scheduler", "build_services", "check_slack_settings", "ollama_health"]

log = logging.getLogger(__name__)

# Follow-up answers waiting for a worker; beyond this the asker is told to try again shortly.
ANSWER_MAX_QUEUE = 20


def build_scheduler(settings: Settings, *, store: Store, pipeline: RunsAnalyses | None = None) -> DigestScheduler:
    """The digest scheduler (not started) with its ports: this store, the storage roots, Slack."""
    return DigestScheduler(settings=settings, ports=DigestPorts(
        store=store, archives=StorageArchives(settings), poster=SlackOps(build_web_client(settings)),
        pipeline=pipeline or build_pipeline(settings), use_llm=settings.digest_use_llm))


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
) -> Services:
    """Everything the listeners need: the pipeline, the job pools, the database, the digest
    scheduler (built, not started: `bot.serve` starts it), the Ollama check."""
    pipeline = pipeline or build_pipeline(settings)
    store = open_store(settings.database_url)
    return Services(
        settings=settings,
        jobs=JobPool(workers=settings.workers, max_queue=settings.max_queue),
        pipeline=pipeline,
        chat=OllamaChat(settings),
        health=health or (lambda: ollama_health(settings)),
        clock=clock,
        store=store,
        scheduler=build_scheduler(settings, store=store, pipeline=pipeline),
        answers=JobPool(workers=settings.workers, max_queue=ANSWER_MAX_QUEUE, name="chimera-answer"),
    )


def check_slack_settings(settings: Settings) -> None:
    """Raise `SlackConfigError` naming what is missing for the chosen mode (before anything starts)."""
    if settings.slack_bot_token is None:
        raise SlackConfigError("SLACK_BOT_TOKEN is not set (the xoxb- token from the app's OAuth page).")
    if settings.slack_mode == "http" and not settings.slack_signing_secret:
        raise SlackConfigError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http.")
    if settings.slack_mode == "socket" and settings.slack_app_token is None:
        raise SlackConfigError("SLACK_APP_TOKEN (xapp-…, scope connections:write) is required for "
                               "Socket Mode; or set SLACK_MODE=http with SLACK_SIGNING_SECRET.")


def build_app(settings: Settings, services: Services) -> App:
    """A Bolt App whose client talks to ``settings.slack_api_url``, with every listener registered.

    HTTP mode verifies each request's signature with SLACK_SIGNING_SECRET (Bolt's
    RequestVerification: v0 HMAC-SHA256, 5-minute timestamp window). Socket Mode requests arrive
    over the app-token WebSocket, so no signing secret is needed there.
    """
    check_slack_settings(settings)
    http_mode = settings.slack_mode == "http"
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = App(
        client=build_web_client(settings),
        signing_secret=secret,  # explicit (even ""), so Bolt never falls back to the environment
        request_verification_enabled=http_mode,
        token_verification_enabled=True,  # auth.test at start-up: fail fast on a bad token
        name="chimera-insight",
        logger=logging.getLogger("slack_bolt"),
    )
    register(app, services)
    return app
