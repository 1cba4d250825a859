"""`POST /slack/events` keeps memory bounded per request (issue 12, item 1a).

Attacks: unsigned, malformed or oversized requests (with and without Content-Length). Expected:
401 (unsigned, malformed headers, a non-numeric timestamp — never 500) without the body being read,
413 beyond MAX_REQUEST_BYTES, rejected bodies never logged, and the server's peak RSS not moved by
a 400 MB unsigned POST (measured in a subprocess server).
"""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.adapters.http_guard import guard_slack_events
from tests.paths import REPO_ROOT
from tests.slack_support import SECRET, ScriptedRun, http_bot
from tests.standins.slack_api import sign

ROOT = REPO_ROOT
CAP = 1024 * 1024
# What a 400 MB unsigned POST may add to the server's peak RSS (README: "HTTP requests").
MAX_GROWTH_KB = 8 * 1024


class ExplodingInput(io.RawIOBase):
    """A wsgi.input that fails the test when anything reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def call_guarded(headers: dict[str, str], *, body: io.RawIOBase | None = None,
                 content_length: str = "123") -> tuple[str, bool]:
    """Run the guard alone (WSGI level); returns (status, whether Bolt was reached)."""
    reached: list[bool] = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        reached.append(True)
        start_response("200 OK", [])
        return [b""]

    app = guard_slack_events(inner, path="/slack/events", signing_secret=SECRET, max_bytes=CAP)
    environ = {"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST", "CONTENT_LENGTH": content_length,
               "wsgi.input": body or ExplodingInput(), "REMOTE_ADDR": "127.0.0.1"}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    statuses: list[str] = []
    app(environ, lambda status, _headers: statuses.append(status))
    return statuses[0], bool(reached)


NOW = str(int(time.time()))
GOOD_SIG = "v0=" + "a" * 64


@pytest.mark.parametrize("headers, why", [
    ({}, "no headers"),
    ({"X-Slack-Request-Timestamp": NOW}, "no signature"),
    ({"X-Slack-Signature": GOOD_SIG}, "no timestamp"),
    ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": GOOD_SIG}, "non-numeric timestamp"),
    ({"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": GOOD_SIG}, "float timestamp"),
    ({"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": GOOD_SIG}, "absurd timestamp"),
    ({"X-Slack-Request-Timestamp": NOW, "X-Slack-Signature": "v1=abc"}, "malformed signature"),
    ({"X-Slack-Request-Timestamp": NOW, "X-Slack-Signature": "v0=" + "z" * 64}, "non-hex signature"),
    ({"X-Slack-Request-Timestamp": str(int(time.time()) - 3600), "X-Slack-Signature": GOOD_SIG}, "stale"),
])
def test_unsigned_or_malformed_requests_are_refused_without_reading_the_body(headers, why):
    status, reached = call_guarded(headers)
    assert status.startswith("401"), why
    assert not reached


def test_a_declared_length_over_the_cap_is_refused_without_reading_the_body():
    headers = sign(SECRET, b"x")
    status, reached = call_guarded(headers, content_length=str(400 * 1024 * 1024))
    assert status.startswith("413") and not reached


def test_a_body_without_length_is_read_only_up_to_the_cap():
    class Endless(io.RawIOBase):
        served = 0

        def read(self, size: int = -1) -> bytes:
            size = 65536 if size is None or size < 0 else size
            self.served += size
            return b"x" * size

    stream = Endless()
    status, reached = call_guarded(sign(SECRET, b"x"), body=stream, content_length="")
    assert status.startswith("413") and not reached
    assert stream.served <= CAP + 1


def http_post(port: int, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """(status, headers and body) of one response with a Content-Length (0 when none came)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head + b"\r\n\r\n" + body


def chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


def test_over_http_malformed_headers_are_401_and_oversized_bodies_413(standin, caplog):
    caplog.set_level(logging.DEBUG)
    secret_marker = b"token=legacy&text=MARKER-OF-A-REJECTED-BODY"
    run = ScriptedRun()
    with http_bot(standin, run) as bot_:
        port = int(bot_.url.rsplit(":", 1)[1])
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        # a non-numeric timestamp is 401, not a 500 from int() inside Bolt
        assert http_post(port, {**form, "Content-Length": str(len(secret_marker)),
                                "X-Slack-Request-Timestamp": "now", "X-Slack-Signature": GOOD_SIG},
                         secret_marker)[0] == 401
        # a wrong signature: 401, and the body is not logged (Bolt logs the bodies it rejects)
        assert bot_.command("MARKER-OF-A-REJECTED-BODY", secret="not-the-secret")[0] == 401
        # a declared length over the cap: 413 at once
        big = {**form, **sign(SECRET, b""), "Content-Length": str(CAP + 1)}
        assert http_post(port, big, b"")[0] == 413
        # chunked, over the cap: 413
        over = b"a" * (CAP + 10)
        assert http_post(port, {**form, **sign(SECRET, over), "Transfer-Encoding": "chunked"},
                         chunked(over))[0] == 413
        # chunked and signed, under the cap: Bolt gets it (a help command is answered in the ack)
        body = (b"token=legacy&team_id=T0001&channel_id=C0001&user_id=U0001&command=%2Fchimera&text=help"
                b"&response_url=" + standin.response_url().encode() + b"&trigger_id=1")
        status, reply = http_post(port, {**form, **sign(SECRET, body), "Transfer-Encoding": "chunked"},
                                  chunked(body))
        assert status == 200 and b"Chimera Insight" in reply
    assert run.calls == []
    assert "MARKER-OF-A-REJECTED-BODY" not in caplog.text
    assert "refused POST /slack/events" in caplog.text


@pytest.fixture(scope="module")
def probe_server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.memory_probe", "http"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield proc, int(line.split()[1])
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=20)


def peak_kb(proc: subprocess.Popen[str]) -> int:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("hwm\n")
    proc.stdin.flush()
    return int(proc.stdout.readline().split()[1])


def send_huge(port: int, headers: dict[str, str], total: int, *, chunk_framing: bool) -> tuple[int, int]:
    """Stream ``total`` bytes of body without holding them; returns (status or 0, bytes sent)."""
    block = b"a" * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        try:
            while sent < total:
                sock.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunk_framing else block)
                sent += len(block)
            if chunk_framing:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the rest is never sent
            pass
        try:
            status, _ = read_response(sock)
        except OSError:
            status = 0
    return status, sent


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_unsigned_400_mb_post_does_not_raise_peak_memory(probe_server, framing):
    proc, port = probe_server
    # Warm up: every worker thread and Bolt's code paths have run once before the baseline.
    for _ in range(3):
        body = b"token=legacy&command=%2Fchimera&text=help&team_id=T0001&channel_id=C0001&user_id=U0001"
        assert http_post(port, {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body),
                                "Content-Length": str(len(body))}, body)[0] == 200
    before = peak_kb(proc)
    total = 400 * 1024 * 1024
    headers = {"Content-Type": "application/json"}
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(total)
    status, sent = send_huge(port, headers, total, chunk_framing=framing == "chunked")
    after = peak_kb(proc)
    assert status in (0, 401, 413)
    assert sent < total  # the server stopped reading long before the end
    assert after - before <= MAX_GROWTH_KB, f"peak RSS grew by {after - before} kB"
    # and it still serves
    body = b"token=legacy&command=%2Fchimera&text=help&team_id=T0001&channel_id=C0001&user_id=U0001"
    assert http_post(port, {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body),
                            "Content-Length": str(len(body))}, body)[0] == 200
