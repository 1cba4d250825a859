"""Checks behind `chimera doctor`: is Ollama reachable, is the model pulled, does num_ctx fit it.

Each check says what it found and, when it fails, what to do. Nothing here raises for an outside
problem; a failed check is the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import ollama

from bot.adapters.ollama import OUTSIDE_ERRORS, connect_detail, make_client, shown_host
from bot.core.prompts.narrative import ANSWER_TOKENS
from bot.core.redact import redact_secrets
from bot.settings import Settings

DOCTOR_TIMEOUT_S = 5.0
# Below this the narrative prompt cannot hold a useful number of facts plus the answer.
MIN_USEFUL_NUM_CTX = 2048


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_doctor(settings: Settings) -> list[Check]:
    """Reachability, model presence and context size, in that order (later ones need earlier)."""
    host = shown_host(settings)
    model = settings.ollama_model
    timeout = min(DOCTOR_TIMEOUT_S, settings.ollama_timeout_s)
    checks: list[Check] = []
    with make_client(settings, timeout_s=timeout) as client:
        try:
            listed = client.list()
        except OUTSIDE_ERRORS as exc:  # converted right here into a failed check
            reason = _reason(exc)
            checks.append(
                Check(
                    "ollama reachable",
                    False,
                    f"Ollama at {host}: {reason}",
                    "start it with `ollama serve` (or set OLLAMA_HOST), or run analyses with --no-llm",
                )
            )
            checks.append(Check("model pulled", False, "not checked: Ollama unreachable"))
            checks.append(Check("context length", False, "not checked: Ollama unreachable"))
            return checks
        names = sorted({m.model for m in listed.models if m.model})
        checks.append(
            Check("ollama reachable", True, f"Ollama at {host} answers ({len(names)} model(s) pulled)")
        )
        if _normalise(model) not in {_normalise(n) for n in names}:
            checks.append(
                Check(
                    "model pulled",
                    False,
                    f"{model} is not among the pulled models ({', '.join(names) or 'none'})",
                    f"run `ollama pull {model}` or set OLLAMA_MODEL to one of them",
                )
            )
            checks.append(Check("context length", False, f"not checked: {model} not pulled"))
            return checks
        checks.append(Check("model pulled", True, f"{model} is pulled"))
        try:
            shown = client.show(model)
        except OUTSIDE_ERRORS as exc:
            checks.append(
                Check("context length", False, f"cannot read {model}'s details: {_reason(exc)}",
                      "check the Ollama server log")
            )
            return checks
    checks.append(_context_check(settings, shown.modelinfo or {}))
    return checks


def _context_check(settings: Settings, model_info: Mapping[str, Any]) -> Check:
    num_ctx = settings.ollama_num_ctx
    trained = model_context_length(model_info)
    if num_ctx < MIN_USEFUL_NUM_CTX:
        return Check(
            "context length",
            False,
            f"OLLAMA_NUM_CTX={num_ctx} leaves too little room: the answer alone reserves "
            f"{ANSWER_TOKENS} tokens, and Ollama cuts longer prompts silently",
            f"set OLLAMA_NUM_CTX to at least {MIN_USEFUL_NUM_CTX}"
            + (f" (the model supports {trained})" if trained else ""),
        )
    if trained is None:
        return Check(
            "context length",
            True,
            f"OLLAMA_NUM_CTX={num_ctx}; the model does not report its context length",
        )
    if num_ctx > trained:
        return Check(
            "context length",
            False,
            f"OLLAMA_NUM_CTX={num_ctx} exceeds {settings.ollama_model}'s context length {trained}",
            f"set OLLAMA_NUM_CTX to {trained} or less",
        )
    return Check(
        "context length",
        True,
        f"OLLAMA_NUM_CTX={num_ctx} fits {settings.ollama_model}'s context length {trained}",
    )


def model_context_length(model_info: Mapping[str, Any]) -> int | None:
    """``<arch>.context_length`` from `/api/show`'s model_info, if present."""
    arch = model_info.get("general.architecture")
    keys = [f"{arch}.context_length"] if arch else []
    keys += sorted(k for k in model_info if k.endswith(".context_length"))
    for key in keys:
        value = model_info.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _normalise(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        return connect_detail(exc)
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {DOCTOR_TIMEOUT_S:g} s"
    if isinstance(exc, ollama.ResponseError):
        return f"HTTP {exc.status_code}: {' '.join(redact_secrets(str(exc.error)).split())[:200]}"
    return f"{type(exc).__name__}: {' '.join(redact_secrets(str(exc)).split())[:200]}"
