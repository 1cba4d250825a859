"""Ollama adapter: one streaming chat call on the official `ollama` client, with exact per-call metrics.

This is the only module that talks to Ollama for the narrative. Outside errors (httpx, ollama's
`ResponseError`, the builtin `ConnectionError` the client raises for a refused connection, broken
NDJSON) are converted here, once, into `LLMCallFailed` whose `str()` is the one-line reason shown
in the report.

Metric definitions (the report footer and the JSON use exactly these):

- ``ttft_ms``: wall clock (``time.perf_counter``) from sending the request to the first streamed
  chunk carrying content; ``None`` when no content arrived.
- ``throughput_tok_s``: ``eval_count / eval_duration`` from Ollama's final record (ns -> s).
- ``prompt_eval_ms``, ``eval_ms``, ``load_ms``, ``total_ms`` and the token counts: copied from the
  final record (Ollama reports durations in ns).
- ``wall_ms``: our own wall clock for the successful attempt, ``attempts``: how many we made.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama

from bot.adapters.ollama_chat import OllamaChat
from bot.core.redact import redact_secrets
from bot.core.types import ChatResult, LLMCallMetrics
from bot.errors import LLMCallFailed
from bot.settings import Settings

__all__ = ["OUTSIDE_ERRORS", "OllamaChat", "chat_options", "connect_detail", "make_client", "stream_chat"]

# Retries only where they can help: a 5xx (runner restarting, overloaded) and one timeout (a model
# that was still loading). Refused connections, 4xx and broken streams are not retried.
MAX_5XX_RETRIES = 2
MAX_TIMEOUT_RETRIES = 1
BACKOFF_S = (0.25, 0.5)
MIN_ATTEMPT_BUDGET_S = 0.5  # no point starting an attempt with less time than this left
CONNECT_TIMEOUT_S = 5.0


# What the ollama client lets escape for an outside problem (pydantic's ValidationError and
# json's JSONDecodeError are ValueErrors: a malformed record).
OUTSIDE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    httpx.HTTPError,
    httpx.StreamError,
    ollama.ResponseError,
    ValueError,
)


@dataclass
class _Attempt:
    """What one attempt saw, kept even when it fails midway."""

    started: float
    ttft_ms: float | None = None
    chunks: list[str] = field(default_factory=list)
    final: Any = None


def chat_options(settings: Settings, *, num_predict: int | None = None) -> dict[str, Any]:
    """The model options sent with every call. ``num_gpu`` is omitted when unset (Ollama decides)."""
    options: dict[str, Any] = {
        "num_ctx": settings.ollama_num_ctx,
        "temperature": settings.ollama_temperature,
        "top_p": settings.ollama_top_p,
        "top_k": settings.ollama_top_k,
        "repeat_penalty": settings.ollama_repeat_penalty,
    }
    if settings.ollama_num_gpu is not None:
        options["num_gpu"] = settings.ollama_num_gpu
    if num_predict is not None:
        options["num_predict"] = num_predict
    return options


def make_client(
    settings: Settings,
    *,
    timeout_s: float,
    deadline: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ollama.Client:
    """The official client for one attempt; the read timeout is whatever is left of the budget.

    With a ``deadline`` (on ``clock``) every chunk of a response body is checked against it: a
    server trickling bytes inside a record that never ends resets httpx's per-read timeout with
    each byte and never completes a record for `_run_attempt` to check, so only the transport
    can stop it.
    """
    timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
    if deadline is None:
        return ollama.Client(host=settings.ollama_host, timeout=timeout)
    transport = _DeadlineTransport(httpx.HTTPTransport(), deadline=deadline, clock=clock)
    return ollama.Client(host=settings.ollama_host, timeout=timeout, transport=transport)


class _DeadlineStream(httpx.SyncByteStream):
    """A response body that raises `httpx.ReadTimeout` once the deadline has passed."""

    def __init__(self, inner: httpx.SyncByteStream, *, deadline: float, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._deadline = deadline
        self._clock = clock

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if self._clock() > self._deadline:
                raise httpx.ReadTimeout("total time budget exceeded while reading the response")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _DeadlineTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, *, deadline: float, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._deadline = deadline
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_DeadlineStream(response.stream, deadline=self._deadline, clock=self._clock),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


def stream_chat(
    messages: Sequence[Mapping[str, str]],
    *,
    settings: Settings,
    format: Mapping[str, Any] | str | None = None,
    num_predict: int | None = None,
    purpose: str = "narrative",
    on_token: Callable[[int], None] | None = None,
    on_text: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ChatResult:
    """Stream one chat completion, retrying 5xx/timeout within ``settings.ollama_timeout_s`` in total.

    ``on_token`` is called with the number of content chunks received so far (for progress),
    ``on_text`` with the text so far (to show a streaming answer; a retry starts it again).
    Raises `LLMCallFailed` for every failure; never returns partial content.
    """
    model = settings.ollama_model
    budget_s = settings.ollama_timeout_s
    started = clock()
    deadline = started + budget_s
    retries_5xx = retries_timeout = 0
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - clock()
        attempt = _Attempt(started=clock())
        try:
            if remaining < MIN_ATTEMPT_BUDGET_S:
                raise httpx.ReadTimeout("no time left in the budget")
            _run_attempt(
                attempt,
                messages=messages,
                settings=settings,
                format=format,
                options=chat_options(settings, num_predict=num_predict),
                timeout_s=remaining,
                deadline=deadline,
                on_token=on_token,
                on_text=on_text,
                clock=clock,
            )
        except _CAUGHT as exc:
            kind, reason = _classify(exc, settings=settings, budget_s=budget_s)
            left = deadline - clock()
            backoff = BACKOFF_S[min(attempts - 1, len(BACKOFF_S) - 1)]
            can_wait = left - backoff >= MIN_ATTEMPT_BUDGET_S
            if kind == "server_error" and retries_5xx < MAX_5XX_RETRIES and can_wait:
                retries_5xx += 1
                time.sleep(backoff)
                continue
            if kind == "timeout" and retries_timeout < MAX_TIMEOUT_RETRIES and can_wait:
                retries_timeout += 1
                time.sleep(backoff)
                continue
            metrics = LLMCallMetrics(
                purpose=purpose,
                model=model,
                ok=False,
                attempts=attempts,
                wall_ms=(clock() - started) * 1000.0,
                ttft_ms=attempt.ttft_ms,
                error=reason,
            )
            raise LLMCallFailed(reason, kind=kind, metrics=metrics) from None
        metrics = _metrics_from_final(
            attempt, purpose=purpose, model=model, attempts=attempts, clock=clock
        )
        return ChatResult(content="".join(attempt.chunks), metrics=metrics)


def _run_attempt(
    attempt: _Attempt,
    *,
    messages: Sequence[Mapping[str, str]],
    settings: Settings,
    format: Mapping[str, Any] | str | None,
    options: dict[str, Any],
    timeout_s: float,
    deadline: float,
    on_token: Callable[[int], None] | None,
    on_text: Callable[[str], None] | None,
    clock: Callable[[], float],
) -> None:
    with make_client(settings, timeout_s=timeout_s, deadline=deadline, clock=clock) as client:
        attempt.started = clock()  # the request is sent on the first next() of the stream
        stream = client.chat(
            model=settings.ollama_model,
            messages=[dict(m) for m in messages],
            stream=True,
            format=format,
            options=options,
            keep_alive=settings.ollama_keep_alive,
        )
        try:
            for part in stream:
                content = part.message.content if part.message else None
                if content:
                    if attempt.ttft_ms is None:
                        attempt.ttft_ms = (clock() - attempt.started) * 1000.0
                    attempt.chunks.append(content)
                    if on_token is not None:
                        on_token(len(attempt.chunks))
                    if on_text is not None:
                        on_text("".join(attempt.chunks))
                if part.done:
                    attempt.final = part
                    break
                # A stream that keeps trickling tokens never trips httpx's read timeout, so the
                # total budget is enforced here as well.
                if clock() > deadline:
                    raise httpx.ReadTimeout("total time budget exceeded while streaming")
        finally:
            stream.close()  # closes the HTTP response early
    if attempt.final is None:
        raise _StreamEnded("the stream ended without a final record")


class _StreamEnded(Exception):
    """The NDJSON stream stopped before Ollama's final (done) record."""


_CAUGHT: tuple[type[BaseException], ...] = (*OUTSIDE_ERRORS, _StreamEnded)


def _classify(exc: BaseException, *, settings: Settings, budget_s: float) -> tuple[str, str]:
    """(kind, one-line reason) for an outside error."""
    host = shown_host(settings)
    model = settings.ollama_model
    # The client converts httpx.ConnectError into the builtin ConnectionError for plain requests
    # but not for streamed ones, so both arrive here.
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        detail = connect_detail(exc)
        return (
            "unreachable",
            (f"Ollama at {host} unreachable: {detail} — start it with `ollama serve` "
            "or pass --no-llm"),
        )
    if isinstance(exc, httpx.TimeoutException):
        return (
            "timeout",
            (f"Ollama at {host} did not answer within {budget_s:g} s (OLLAMA_TIMEOUT_S) — "
            "the model may still be loading; retry, raise the timeout or pass --no-llm"),
        )
    if isinstance(exc, ollama.ResponseError):
        detail = _one_line(str(exc.error))
        if exc.status_code == 404:
            return (
                "not_found",
                f"model {model} not found on Ollama at {host} ({detail}) — run `ollama pull {model}`",
            )
        if exc.status_code >= 500:
            return ("server_error", f"Ollama at {host} failed with HTTP {exc.status_code}: {detail}")
        if exc.status_code == -1:  # an {"error": ...} record inside the stream
            return ("server_error", f"Ollama at {host} reported an error mid-stream: {detail}")
        if exc.status_code == 400 and _CONTEXT_REFUSAL.search(detail):
            # Ollama with truncation off, or llama-server keeping system + last message: the prompt
            # is longer than num_ctx. Handled like a prompt Ollama cut (fewer facts, or data only).
            return ("context_overflow",
                    f"Ollama at {host} refused the prompt as longer than num_ctx={settings.ollama_num_ctx} "
                    f"({detail})")
        return ("http", f"Ollama at {host} refused the request (HTTP {exc.status_code}): {detail}")
    if isinstance(exc, (httpx.TransportError, httpx.StreamError, json.JSONDecodeError, _StreamEnded)):
        return (
            "broken_stream",
            (f"the stream from Ollama at {host} broke off before the answer was complete "
            f"({_one_line(str(exc)) or type(exc).__name__})"),
        )
    # pydantic's ValidationError (a record that is not Ollama's shape) and anything else
    return ("broken_stream", f"Ollama at {host} sent a malformed record ({type(exc).__name__})")


def shown_host(settings: Settings) -> str:
    """OLLAMA_HOST as every message shows it: credentials in the URL redacted."""
    return redact_secrets(settings.ollama_host)


_CONTEXT_REFUSAL = re.compile(r"context (?:length|size|window)|exceeds? .*context|context.*exceed", re.IGNORECASE)


def connect_detail(exc: BaseException) -> str:
    """Why a connection failed, in a few words ("connection refused", "name not known", ...)."""
    # ollama raises ConnectionError(<download hint>) `from None`; the httpx cause is its context.
    cause = exc.__context__ if isinstance(exc, ConnectionError) and exc.__context__ else exc
    text = str(cause)
    if "refused" in text.lower():
        return "connection refused"
    if isinstance(cause, httpx.ConnectError) and text:
        return _one_line(text)
    return "cannot connect"


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(redact_secrets(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _ns_to_ms(value: int | None) -> float | None:
    return None if value is None else value / 1e6


def _metrics_from_final(
    attempt: _Attempt, *, purpose: str, model: str, attempts: int, clock: Callable[[], float]
) -> LLMCallMetrics:
    final = attempt.final
    eval_count = final.eval_count
    eval_duration = final.eval_duration
    throughput = (
        eval_count / (eval_duration / 1e9)
        if eval_count is not None and eval_duration and eval_duration > 0
        else None
    )
    return LLMCallMetrics(
        purpose=purpose,
        model=final.model or model,
        ok=True,
        attempts=attempts,
        wall_ms=(clock() - attempt.started) * 1000.0,
        ttft_ms=attempt.ttft_ms,
        throughput_tok_s=throughput,
        prompt_eval_count=final.prompt_eval_count,
        prompt_eval_ms=_ns_to_ms(final.prompt_eval_duration),
        eval_count=eval_count,
        eval_ms=_ns_to_ms(eval_duration),
        load_ms=_ns_to_ms(final.load_duration),
        total_ms=_ns_to_ms(final.total_duration),
        done_reason=final.done_reason,
    )
