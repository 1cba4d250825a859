"""Logging set-up for the entry points, with secrets redacted from every line (belt and braces).

Messages are built from settings and outside errors in many places; `RedactingFilter` runs
`bot.core.redact.redact_secrets` over each formatted record (message, traceback, stack) on the
handlers, so a URL with credentials never reaches the log whichever logger wrote it.
"""

from __future__ import annotations

import logging
import sys

from bot.core.redact import redact_secrets

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Rewrites a record so its message and traceback carry no credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        clean = redact_secrets(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put a `RedactingFilter` on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``, redacted; Alembic's per-step lines are noise."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format=FORMAT)
    install_redaction()
    logging.getLogger("alembic").setLevel(logging.WARNING)
