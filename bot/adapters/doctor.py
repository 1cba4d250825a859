"""Checks behind `chimera doctor`: is Ollama reachable, is the model pulled, does num_ctx hold a
typical report's narrative prompt (and, with ``probe``, does Ollama see that prompt whole).

Each check says what it found and, when it fails, what to do. Nothing here raises for an outside
problem; a failed check is the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import ollama

from bot.adapters.ollama import OUTSIDE_ERRORS, connect_detail, make_client, shown_host, stream_chat
from bot.core.prompts.budget import truncation
from bot.core.prompts.narrative import ANSWER_SCHEMA, ANSWER_TOKENS, Prompt, PromptDoesNotFit, build_prompt
from bot.core.prompts.typical import typical_facts
from bot.core.redact import redact_secrets
from bot.errors import LLMCallFailed
from bot.settings import Settings

DOCTOR_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_doctor(settings: Settings, *, probe: bool = False) -> list[Check]:
    """Reachability, model presence and context size, in that order (later ones need earlier).

    ``probe`` also sends the typical prompt (one answer token) and reads Ollama's own count of it.
    """
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
    trained = model_context_length(shown.modelinfo or {})
    checks.append(_context_check(settings, trained))
    checks.append(_typical_prompt_check(settings, trained))
    if probe and checks[-1].ok:
        checks.append(_probe_check(settings))
    return checks


def _context_check(settings: Settings, trained: int | None) -> Check:
    num_ctx = settings.ollama_num_ctx
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


def _typical_prompt_check(settings: Settings, trained: int | None) -> Check:
    """Does ``num_ctx`` hold a typical report's whole narrative prompt plus the answer reserve?"""
    num_ctx = settings.ollama_num_ctx
    facts = typical_facts()
    whole = build_prompt(facts, num_ctx=10**9)
    needed = whole.estimated_tokens + ANSWER_TOKENS
    what = (f"a typical report's narrative prompt ({len(facts)} facts) needs about "
            f"{whole.estimated_tokens:,} tokens + {ANSWER_TOKENS:,} for the answer = {needed:,}")
    if needed <= num_ctx:
        return Check("typical prompt fits", True, f"{what}; OLLAMA_NUM_CTX={num_ctx:,} holds it")
    try:
        kept = len(build_prompt(facts, num_ctx=num_ctx).fact_ids)
    except PromptDoesNotFit:
        kept = 0
    advice = 1 << (needed - 1).bit_length()  # the next power of two
    fix = f"set OLLAMA_NUM_CTX to {advice:,}"
    if trained is not None and advice > trained:
        fix = f"use a model with a context length of at least {needed:,} ({settings.ollama_model} has {trained:,})"
    return Check("typical prompt fits", False,
                 f"{what}; with OLLAMA_NUM_CTX={num_ctx:,} only {kept} of {len(facts)} facts would reach the model",
                 fix)


def _probe_check(settings: Settings) -> Check:
    """Send the typical prompt with the answer's schema and one answer token: does Ollama accept the
    schema and count the prompt whole?"""
    prompt: Prompt = build_prompt(typical_facts(), num_ctx=settings.ollama_num_ctx)
    try:
        result = stream_chat(prompt.messages, settings=settings, format=ANSWER_SCHEMA, num_predict=1,
                             purpose="doctor")
    except LLMCallFailed as exc:
        if exc.kind == "context_overflow":
            return Check("typical prompt seen whole", False, str(exc), "raise OLLAMA_NUM_CTX")
        return Check("typical prompt seen whole", False, f"the probe call failed: {exc}")
    counted = result.metrics.prompt_eval_count
    cut = truncation(counted=counted, estimated=prompt.baseline_tokens, num_ctx=settings.ollama_num_ctx)
    if cut:
        return Check("typical prompt seen whole", False, cut, "raise OLLAMA_NUM_CTX")
    if counted is None:
        return Check("typical prompt seen whole", True, "Ollama did not report its prompt token count")
    relation = "within" if counted <= prompt.estimated_tokens else "ABOVE"
    return Check("typical prompt seen whole", counted <= prompt.estimated_tokens,
                 f"Ollama counted {counted:,} prompt tokens, {relation} the estimate of {prompt.estimated_tokens:,}",
                 "" if counted <= prompt.estimated_tokens else
                 "the model's tokenizer counts more than the estimate: prompts are fitted from the "
                 "estimate raised after the first call; consider a larger OLLAMA_NUM_CTX")


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
