"""The gate in front of Bolt on ``POST /slack/events``: bounded bodies, signatures checked first.

Bolt reads and parses the whole body before it checks the signature, and logs the body of every
request it rejects. This WSGI middleware runs before it and keeps memory bounded per request:

1. missing or malformed ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp`` headers (including
   a timestamp that is not a number) or a timestamp outside Slack's 5-minute window: 401, the body
   is never read;
2. a ``Content-Length`` above ``max_bytes``: 413, never read (waitress, configured with the same
   cap as ``max_request_body_size``, already refuses it while parsing the headers);
3. the body (with or without ``Content-Length``, i.e. chunked) is read up to ``max_bytes + 1``
   bytes at most: more is 413;
4. the v0 HMAC-SHA256 signature is checked against the signing secret: 401 when it does not match.

Only then does Bolt see the request (its own verification runs again, harmlessly). A rejection is
logged as one line with the reason and the declared size, never the body.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_WINDOW_S = 60 * 5  # Slack's (and Bolt's) replay window
_READ_CHUNK = 64 * 1024


class Rejected(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def guard_slack_events(inner: WsgiApp, *, path: str, signing_secret: str, max_bytes: int,
                       clock: Callable[[], float] | None = None) -> WsgiApp:
    """``inner`` behind the checks in the module docstring, for ``POST path`` only. ``clock`` is
    wall-clock seconds (looked up at each call by default, so it follows a patched ``time.time``)."""
    clock = clock or (lambda: time.time())
    verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != path or environ.get("REQUEST_METHOD") != "POST":
            return inner(environ, start_response)
        try:
            timestamp, signature = _signed_headers(environ, clock)
            body = _read_body(environ, max_bytes)
            if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
                raise Rejected("401 Unauthorized", "signature does not match")
        except Rejected as rejected:
            log.warning("refused POST %s from %s: %s (Content-Length %s)", path,
                        environ.get("REMOTE_ADDR", "?"), rejected.reason,
                        _shown_length(environ.get("CONTENT_LENGTH")))
            return _refuse(start_response, rejected)
        environ = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        return inner(environ, start_response)

    return guarded


def _signed_headers(environ: dict[str, Any], clock: Callable[[], float]) -> tuple[str, str]:
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "").strip()
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "").strip()
    if not timestamp or not signature:
        raise Rejected("401 Unauthorized", "unsigned (no X-Slack-Signature / X-Slack-Request-Timestamp)")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Rejected("401 Unauthorized", "X-Slack-Request-Timestamp is not a number")
    if not _SIGNATURE.fullmatch(signature):
        raise Rejected("401 Unauthorized", "X-Slack-Signature is malformed")
    if abs(clock() - int(timestamp)) > _WINDOW_S:
        raise Rejected("401 Unauthorized", "X-Slack-Request-Timestamp is outside the 5-minute window")
    return timestamp, signature


def _read_body(environ: dict[str, Any], max_bytes: int) -> bytes:
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not declared.isascii() or not declared.isdigit():
            raise Rejected("400 Bad Request", "Content-Length is not a number")
        if int(declared) > max_bytes:
            raise Rejected("413 Request Entity Too Large", f"body larger than {max_bytes:,} bytes")
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    # Without Content-Length (chunked), read until the end or one byte past the cap.
    want = int(declared) if declared else max_bytes + 1
    parts: list[bytes] = []
    received = 0
    while received < want:
        chunk = stream.read(min(_READ_CHUNK, want - received))
        if not chunk:
            break
        parts.append(chunk)
        received += len(chunk)
    if received > max_bytes:
        raise Rejected("413 Request Entity Too Large", f"body larger than {max_bytes:,} bytes")
    return b"".join(parts)


def _refuse(start_response: Callable[..., Any], rejected: Rejected) -> Iterable[bytes]:
    body = json.dumps({"error": "invalid request" if rejected.status.startswith("401") else rejected.reason}).encode()
    start_response(rejected.status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _shown_length(value: object) -> str:
    text = str(value or "none")
    return text if len(text) <= 20 and text.isascii() else text[:20] + "…"


class _Clock(Clock):
    """slack_sdk's verifier wants an object with ``now()``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock()
