"""Stand-ins for Slack: the Web API over HTTP and the Socket Mode WebSocket, on 127.0.0.1.

`SlackApiStandin` is a stdlib ThreadingHTTPServer that answers the Web API methods the bot uses,
the upload URLs that files.getUploadURLExternal hands out, and slash-command ``response_url``s;
it records every call in arrival order and can be scripted to fail (Slack error codes, 429 with
Retry-After, a failing upload URL). `SocketModeStandin` is a websockets server that plays Slack's
side of Socket Mode (hello, envelopes, acks). Also: `sign()` for request signing as Slack does it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"


def sign(secret: str, body: bytes | str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Request-Timestamp and the v0 HMAC-SHA256 signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage"), "upload" or "respond"
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    body: bytes = b""
    response: dict[str, Any] | None = None  # what the stand-in answered (e.g. the ts it issued)


@dataclass
class _Fault:
    method: str
    times: int
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    when: Callable[[dict[str, Any]], bool] | None = None  # only calls whose params match


class SlackApiStandin:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.admins: set[str] = set()  # users.info says these are workspace admins
        self.owners: set[str] = set()  # ... and these workspace owners
        # what the channels hold: every message posted (and as last edited), with its metadata;
        # conversations.history and conversations.replies read it, like Slack
        self.messages: list[dict[str, Any]] = []
        self._faults: list[_Fault] = []
        self._cond = threading.Condition()
        self._ts = itertools.count(100)
        self._files = itertools.count(1)
        self.ws_url = "ws://127.0.0.1:9/unused"
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                status, headers, payload = standin._handle(url.path, dict(self.headers), body, url.query)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                ctype = "text/plain" if isinstance(payload, bytes) else "application/json; charset=utf-8"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/"
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, at the end of every test
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting ---------------------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1,
             when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """The next ``times`` calls of ``method`` (those whose params satisfy ``when``, if given)
        answer ``{"ok": false, "error": error}``."""
        self._faults.append(_Fault(method, times, error=error, when=when))

    def rate_limit(self, method: str, *, retry_after: int = 0, times: int = 1) -> None:
        self._faults.append(_Fault(method, times, status=429, error="ratelimited",
                                   headers={"Retry-After": str(retry_after)}))

    def fail_upload(self, *, status: int = 500, times: int = 1) -> None:
        """The next ``times`` POSTs to an upload URL answer ``status``."""
        self._faults.append(_Fault("upload", times, status=status))

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/respond/{name}"

    # --- inspection --------------------------------------------------------------------------

    def methods(self) -> list[str]:
        with self._cond:
            return [c.method for c in self.calls]

    def of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0) -> list[Call]:
        """Block until ``predicate(calls)`` holds; returns the calls (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
                self._cond.wait(left)
            return list(self.calls)

    # --- the protocol ------------------------------------------------------------------------

    def _take_fault(self, method: str, params: dict[str, Any] | None = None) -> _Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.when is not None and not fault.when(params or {}):
                    continue
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, path: str, headers: dict[str, str], body: bytes,
                query: str = "") -> tuple[int, dict[str, str], Any]:
        if path.startswith("/api/"):
            method = path[len("/api/"):]
            ctype = headers.get("Content-Type", "")
            if "json" in ctype:
                params = json.loads(body or b"{}")
            else:
                params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            # GET methods (conversations.replies) carry their arguments in the query string
            params.update({k: v[0] for k, v in parse_qs(query).items()})
        elif path.startswith("/upload/"):
            method, params = "upload", {"file_id": path.rsplit("/", 1)[1], "bytes": len(body)}
        elif path.startswith("/respond/"):
            method, params = "respond", json.loads(body or b"{}")
        else:
            return 404, {}, b"not found"
        call = Call(method, params, headers, time.monotonic(), body)
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        fault = self._take_fault(method, params)
        if fault is not None:
            if method == "upload":
                return fault.status, {}, b"upload failed"
            return fault.status, fault.headers, {"ok": False, "error": fault.error}
        if method in {"upload", "respond"}:
            return 200, {}, b"OK"
        call.response = self._answer(method, params)
        return 200, {}, call.response

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel") or params.get("channel_id") or "C0"
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "T", "team_id": "T0001",
                    "user": "chimera", "user_id": BOT_USER_ID, "bot_id": BOT_ID}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            message = {"type": "message", "ts": ts, "text": params.get("text", ""), "user": BOT_USER_ID,
                       "bot_id": BOT_ID, "thread_ts": params.get("thread_ts"), "channel": channel,
                       "metadata": _json_param(params.get("metadata"))}
            with self._cond:
                self.messages.append(message)
            return {"ok": True, "channel": channel, "ts": ts,
                    "message": {"text": params.get("text", ""), "user": BOT_USER_ID, "bot_id": BOT_ID}}
        if method == "chat.update":
            with self._cond:
                for message in self.messages:
                    if message["ts"] == params.get("ts") and message["channel"] == channel:
                        message["text"] = params.get("text", "")
            return {"ok": True, "channel": channel, "ts": params.get("ts"), "text": params.get("text", "")}
        if method == "chat.delete":
            with self._cond:
                found = [m for m in self.messages if m["ts"] == params.get("ts") and m["channel"] == channel]
                for message in found:
                    self.messages.remove(message)
            if not found:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": params.get("ts")}
        if method == "conversations.history":
            return {"ok": True, "has_more": False, "messages": self._listed(
                params, lambda m: m["channel"] == channel and m["thread_ts"] is None)[::-1]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):05d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files") or "[]")
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "users.info":
            user = str(params.get("user") or "")
            if not user.startswith(("U", "W")):
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user, "name": user.lower(), "deleted": False,
                                         "is_admin": user in self.admins or user in self.owners,
                                         "is_owner": user in self.owners, "is_primary_owner": False,
                                         "is_bot": False}}
        if method == "conversations.replies":
            if not params.get("include_all_metadata"):  # threads read as context: none, unless a test says
                return {"ok": True, "messages": [], "has_more": False}
            return {"ok": True, "has_more": False, "messages": self._listed(
                params, lambda m: m["channel"] == channel and params.get("ts") in (m["ts"], m["thread_ts"]))}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        return {"ok": False, "error": "unknown_method"}


    def _listed(self, params: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        # ``oldest`` is not applied: the ts values issued here are counters, not times
        metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        with self._cond:
            listed = [dict(m) for m in self.messages if keep(m)]
        for message in listed:
            if not metadata or not message.get("metadata"):
                message.pop("metadata", None)
        return listed


def _json_param(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class SocketModeStandin:
    """Slack's side of Socket Mode: greets each connection with ``hello``, sends envelopes queued
    with `deliver`, and records every frame the app sends back (acks)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._server = ws_serve(self._session, "127.0.0.1", 0, compression=None)
        port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=test"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.connections = 0

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    def deliver(self, envelope: dict[str, Any]) -> None:
        with self._cond:
            self._outbox.append(envelope)
            self._cond.notify_all()

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for frame in self.received:
                    if frame.get("envelope_id") == envelope_id:
                        return frame
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for {envelope_id}; got {self.received}")
                self._cond.wait(left)

    def _session(self, conn: ServerConnection) -> None:
        with self._cond:
            self.connections += 1
        conn.send(json.dumps({"type": "hello", "num_connections": 1,
                              "debug_info": {"host": "standin"}, "connection_info": {"app_id": "A1"}}))
        while True:
            with self._cond:
                pending, self._outbox = self._outbox, []
            for envelope in pending:
                conn.send(json.dumps(envelope))
            try:
                frame = conn.recv(timeout=0.05)
            except TimeoutError:
                continue
            except ConnectionClosed:  # closed by the client
                return
            if isinstance(frame, bytes):
                frame = frame.decode()
            with self._cond:
                self.received.append(json.loads(frame))
                self._cond.notify_all()
