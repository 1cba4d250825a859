"""A local Ollama stand-in speaking the HTTP/NDJSON protocol the official `ollama` client uses.

    with OllamaStandIn() as server:
        server.script(Reply(content='{"summary": "..."}'))
        settings = load_settings(ollama_host=server.host)
        ...
        assert server.requests[-1].body["options"]["num_ctx"] == 8192

Endpoints: ``POST /api/chat`` and ``POST /api/generate`` (NDJSON streaming with chunked transfer
encoding, or one JSON object when ``"stream": false``), ``GET /api/tags``, ``POST /api/show``,
``GET /api/version``. A request naming a model the server does not hold gets Ollama's real 404
body. Replies are scripted (a queue; the last one repeats when the queue runs dry); the final
record carries real timing fields in ns, measured unless a reply overrides them.

``Reply.hold``: no byte until the test sets that event (a request held "in flight" on cue).
Fault modes (``Reply.fault``): ``"slow"`` (no byte until ``slow_s`` passes), ``"500"``, ``"404"``,
``"broken"`` (closes the connection in the middle of the NDJSON stream), ``"error_record"`` (an
``{"error": ...}`` line mid-stream, as Ollama sends when the runner dies), ``"trickle"`` (after the
content, a record that never ends: one byte every ``token_delay_s``, so no single read ever times
out). An empty or off-format
answer is just ``Reply(content="")`` / ``Reply(content="not json")``. For "connection refused",
point the client at `closed_port_url()`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from bot.settings import Settings


@dataclass
class Reply:
    """One scripted answer. ``content`` is streamed in chunks of ``chunk_chars`` characters."""

    content: str = ""
    chunks: list[str] | None = None  # explicit chunks win over splitting ``content``
    chunk_chars: int = 4  # ~ one token per chunk, so eval_count looks like a real token count
    first_token_delay_s: float = 0.0
    token_delay_s: float = 0.0
    fault: str | None = None  # slow | 500 | 404 | broken | error_record | trickle
    slow_s: float = 5.0
    hold: threading.Event | None = None  # no byte until the test sets it (then as scripted)
    done_reason: str = "stop"
    # Final-record overrides (ns / counts); measured or estimated when None.
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    total_duration: int | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        size = max(1, self.chunk_chars)
        return [self.content[i : i + size] for i in range(0, len(self.content), size)]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class ModelEntry:
    name: str
    context_length: int = 131072
    family: str = "gemma3"
    parameter_size: str = "4.3B"
    quantization_level: str = "Q4_K_M"
    size: int = 3_338_801_804
    digest: str = "a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a"


@dataclass
class _State:
    models: dict[str, ModelEntry]
    replies: list[Reply] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    version: str = "0.12.6"


class OllamaStandIn:
    """Context manager running the stand-in on 127.0.0.1 (an OS-chosen port) in a thread."""

    def __init__(
        self,
        *,
        models: list[ModelEntry] | None = None,
        replies: list[Reply] | None = None,
    ) -> None:
        entries = models if models is not None else [ModelEntry("gemma3:latest")]
        self._state = _State(models={m.name: m for m in entries}, replies=list(replies or []))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Self:
        state = self._state

        class Handler(_Handler):
            pass

        Handler.state = state
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # wakes handlers sleeping in slow/delay modes
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test-facing API ----------------------------------------------------------------------
    @property
    def host(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def script(self, *replies: Reply) -> None:
        with self._state.lock:
            self._state.replies.extend(replies)

    @property
    def requests(self) -> list[Recorded]:
        with self._state.lock:
            return list(self._state.requests)

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


def settings_for(host: str, **overrides: object) -> Settings:
    """Settings pointing at a stand-in (no .env), with a short request budget for tests."""
    from tests.factories import make_settings

    base: dict[str, object] = {"ollama_host": host, "ollama_timeout_s": 5.0}
    base.update(overrides)
    return make_settings(**base)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer, like Ollama (Go net/http)
    state: _State

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # a client closed its keep-alive socket
            super().handle()

    # --- plumbing -----------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        return body if isinstance(body, dict) else {"_raw": body}

    def _record(self, body: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.requests.append(Recorded(self.command, self.path, body))

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return not self.state.stopping.wait(seconds) if seconds > 0 else True

    def _next_reply(self) -> Reply:
        with self.state.lock:
            if len(self.state.replies) > 1:
                return self.state.replies.pop(0)
            return self.state.replies[0] if self.state.replies else Reply(content="ok")

    # --- routes -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._record({})
        if self.path == "/api/tags":
            self._json(200, {"models": [_tag(m) for m in self.state.models.values()]})
        elif self.path == "/api/version":
            self._json(200, {"version": self.state.version})
        elif self.path == "/":
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._error(404, "404 page not found")

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        if self.path == "/api/show":
            name = str(body.get("model") or body.get("name") or "")
            entry = self.state.models.get(_normalise(name))
            if entry is None:
                self._error(404, f"model '{name}' not found")
            else:
                self._json(200, _show(entry))
        elif self.path in ("/api/chat", "/api/generate"):
            try:
                self._generate(body, chat=self.path == "/api/chat")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.close_connection = True
        else:
            self._error(404, "404 page not found")

    def _generate(self, body: dict[str, Any], *, chat: bool) -> None:
        started = time.perf_counter_ns()
        reply = self._next_reply()
        model = str(body.get("model") or "")
        while reply.hold is not None and not reply.hold.wait(0.05):
            if self.state.stopping.is_set():
                return
        if reply.fault == "slow" and not self._sleep(reply.slow_s):
            return
        if reply.fault == "500":
            self._error(500, "llama runner process has terminated: exit status 2")
            return
        if reply.fault == "404" or _normalise(model) not in self.state.models:
            self._error(404, f'model "{model}" not found, try pulling it first')
            return
        prompt_text = json.dumps(body.get("messages") if chat else body.get("prompt"))
        pieces = reply.pieces()
        if not body.get("stream", True):
            if not self._sleep(reply.first_token_delay_s + reply.token_delay_s * len(pieces)):
                return
            final = self._final(reply, model, pieces, started, prompt_text, started)
            final.update(_content("".join(pieces), chat=chat))
            self._json(200, final)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in self._stream_lines(reply, model, pieces, started, prompt_text, chat=chat):
            if line is None:  # "broken": drop the connection in the middle of a record
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._chunk(line)
        if reply.fault == "trickle":
            while self._sleep(reply.token_delay_s or 0.05):
                self._chunk(b" ")  # whitespace inside a record that never gets its newline
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stream_lines(
        self,
        reply: Reply,
        model: str,
        pieces: list[str],
        started: int,
        prompt_text: str,
        *,
        chat: bool,
    ) -> Iterator[bytes | None]:
        if not self._sleep(reply.first_token_delay_s):
            return
        first_token = time.perf_counter_ns()
        for index, piece in enumerate(pieces):
            if index and not self._sleep(reply.token_delay_s):
                return
            record = {"model": model, "created_at": _now(), "done": False}
            record.update(_content(piece, chat=chat))
            line = json.dumps(record).encode() + b"\n"
            if reply.fault == "broken" and index == len(pieces) // 2:
                self._chunk(line[: len(line) // 2])
                yield None
                return
            if reply.fault == "error_record" and index == len(pieces) // 2:
                yield json.dumps({"error": "an error was encountered while running the model"}).encode() + b"\n"
                return
            yield line
        if reply.fault == "broken":  # no content to break in the middle of: break at the end
            yield None
            return
        if reply.fault == "trickle":
            yield b'{"model": "' + model.encode() + b'", '  # an open record; the bytes follow
            return
        final = self._final(reply, model, pieces, started, prompt_text, first_token)
        final.update(_content("", chat=chat))
        yield json.dumps(final).encode() + b"\n"

    @staticmethod
    def _final(
        reply: Reply,
        model: str,
        pieces: list[str],
        started: int,
        prompt_text: str,
        first_token: int,
    ) -> dict[str, Any]:
        now = time.perf_counter_ns()
        prompt_phase = max(first_token - started, 0)
        # Real Ollama splits the time before the first token into load and prompt evaluation.
        load = reply.load_duration if reply.load_duration is not None else prompt_phase // 4
        prompt_eval = (
            reply.prompt_eval_duration
            if reply.prompt_eval_duration is not None
            else prompt_phase - prompt_phase // 4
        )
        return {
            "model": model,
            "created_at": _now(),
            "done": True,
            "done_reason": reply.done_reason,
            "total_duration": reply.total_duration if reply.total_duration is not None else now - started,
            "load_duration": load,
            "prompt_eval_count": (
                reply.prompt_eval_count
                if reply.prompt_eval_count is not None
                else max(1, len(prompt_text) // 4)
            ),
            "prompt_eval_duration": prompt_eval,
            "eval_count": reply.eval_count if reply.eval_count is not None else len(pieces),
            "eval_duration": (
                reply.eval_duration if reply.eval_duration is not None else max(now - first_token, 1)
            ),
        }


def _content(text: str, *, chat: bool) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": text}} if chat else {"response": text}


def _normalise(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _tag(entry: ModelEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "model": entry.name,
        "modified_at": "2025-11-14T10:00:00.000000000Z",
        "size": entry.size,
        "digest": entry.digest,
        "details": _details(entry),
    }


def _details(entry: ModelEntry) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": entry.family,
        "families": [entry.family],
        "parameter_size": entry.parameter_size,
        "quantization_level": entry.quantization_level,
    }


def _show(entry: ModelEntry) -> dict[str, Any]:
    arch = entry.family
    return {
        "license": "Gemma Terms of Use",
        "modelfile": f"FROM {entry.name}\n",
        "parameters": 'stop "<end_of_turn>"\ntemperature 1\ntop_k 64\ntop_p 0.95',
        "template": "{{- range .Messages }}{{ .Content }}{{ end }}",
        "details": _details(entry),
        "model_info": {
            "general.architecture": arch,
            "general.parameter_count": 4_300_079_472,
            f"{arch}.context_length": entry.context_length,
            f"{arch}.embedding_length": 2560,
            f"{arch}.block_count": 34,
        },
        "capabilities": ["completion", "vision"],
        "modified_at": "2025-11-14T10:00:00.000000000Z",
    }


# --- realistic inputs for the narrative tests and the bench -------------------------------------


def realistic_facts() -> list:
    """Facts shaped like the analysis step's output for a two-model Ollama benchmark."""
    from bot.core.types import Fact

    src = ("reports/gemma3/gemma3_270m_results.csv", "csv_data/llama3_8b_q8_results.json")
    return [
        Fact("F1", "Median throughput of gemma3:270m over warm requests", 290.14, "tok/s",
             src[:1], importance=95, model="gemma3:270m", metric="throughput_tok_s", rows=118),
        Fact("F2", "Median throughput of llama3.1:8b-instruct-q8_0 over warm requests", 46.58,
             "tok/s", src[1:], importance=95, model="llama3.1:8b-instruct-q8_0",
             metric="throughput_tok_s", rows=60),
        Fact("F3", "TTFT p50 of gemma3:270m (wall clock to first streamed token)", 870.4, "ms",
             src[:1], importance=90, model="gemma3:270m", metric="ttft_ms", rows=118),
        Fact("F4", "TTFT p95 of gemma3:270m", 1234.5, "ms", src[:1], importance=80,
             model="gemma3:270m", metric="ttft_ms", rows=118),
        Fact("F5", "Failed requests of llama3.1:8b-instruct-q8_0 (excluded from statistics)", 3,
             "count", src[1:], importance=85, model="llama3.1:8b-instruct-q8_0", rows=63),
        Fact("F6", "Cold starts of gemma3:270m (model load dominating TTFT)", 2, "count",
             src[:1], importance=70, model="gemma3:270m", rows=120),
        Fact("F7", "Best configuration of gemma3:270m by median throughput", 301.2, "tok/s",
             src[:1], importance=75, model="gemma3:270m",
             config="num_ctx=1024,num_gpu=999,temperature=0.2", metric="throughput_tok_s", rows=40),
        Fact("F8", "Worst configuration of gemma3:270m by median throughput", 270.9, "tok/s",
             src[:1], importance=60, model="gemma3:270m",
             config="num_ctx=4096,num_gpu=60,temperature=0.8", metric="throughput_tok_s", rows=39),
        Fact("F9", "Best-vs-worst gap of gemma3:270m, above the noise (CI excludes 0)", 11.2, "%",
             src[:1], importance=65, model="gemma3:270m", metric="throughput_tok_s"),
        Fact("F10", "Mean load time of gemma3:270m cold starts", 2.41, "s", src[:1],
             importance=40, model="gemma3:270m", metric="load_ms", rows=2),
    ]


def answer_json(
    summary: str | None = None,
    *,
    recommendations: list[str] | None = None,
    risks: list[tuple[str, str]] | None = None,
    words: int = 0,
) -> str:
    """A structured answer in the shape `bot.core.prompts.narrative.ANSWER_SCHEMA` asks for.

    ``words`` pads the summary with plain prose (no numbers) to emulate a 300-400 word answer.
    """
    summary = summary or (
        "**Throughput** is led by gemma3:270m at [F1], far ahead of llama3.1:8b-instruct-q8_0 at "
        "[F2]. **TTFT** p50 for gemma3:270m is [F3] with a p95 of [F4]. The llama model had [F5] "
        "failed requests, excluded from every statistic. The best configuration reaches [F7] "
        "against [F8] for the worst, a gap of [F9] that exceeds the noise."
    )
    if words:
        filler = ("Warm requests behave consistently and the ranking is stable across runs. " * 60).split()
        summary = summary + " " + " ".join(filler[:words])
    recommendations = recommendations or [
        "Use num_ctx=1024 with full GPU offload for gemma3:270m, which gives [F7] without hurting quality.",
        "Keep models loaded with a longer keep_alive to avoid the [F6] cold starts seen in the run.",
        "Investigate the llama failures [F5] before adopting it, since quality gains mean little when requests fail.",
    ]
    risks = risks or [
        ("Cold starts inflate TTFT [F6]", "Warm the model at deploy time and keep it resident."),
        ("The small model may lose answer quality", "Track a quality score next to throughput."),
    ]
    return json.dumps(
        {
            "summary": summary,
            "recommendations": recommendations,
            "risks": [{"risk": r, "mitigation": m} for r, m in risks],
        }
    )
