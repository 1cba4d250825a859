"""The Bolt App factory. Nothing here runs at import; `build_app` is called by `bot.serve`."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.errors import SlackConfigError
from bot.flows.services import Services
from bot.settings import Settings
from bot.adapters.slack import build_web_client

log = logging.getLogger(__name__)


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
    if settings.slack_bot_token is None:
        raise SlackConfigError("SLACK_BOT_TOKEN is not set (the xoxb- token from the app's OAuth page).")
    http_mode = settings.slack_mode == "http"
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    if http_mode and not secret:
        raise SlackConfigError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http.")
    from handlers.registry import (
        register,  # late: handlers import bot, not the other way round
    )

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
