"""The narrative step: facts -> one structured gemma3 call -> grounded, rendered `Narrative`.

`narrate` never raises: every way the model can fail (unreachable, 404, timeout, 5xx, broken
stream, empty or off-format answer, a context window too small) becomes
``Narrative(status="failed", reason=...)`` and the report is built from the facts alone.

The model cites facts by id (``[F3]``); the renderer writes the exact values, bolded. Every other
number the model writes is checked against the facts (`bot.core.grounding`); those matching none are
marked ``⚠️unverified`` in the Markdown and kept out of the Slack ``short_summary``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from bot.core.narrative import Answer, Narrative, OffFormat, parse_answer
from bot.core.prompts.budget import TokenEstimator
from bot.core.prompts.narrative import ANSWER_SCHEMA, PromptDoesNotFit, build_prompt
from bot.core.types import Fact
from bot.errors import LLMCallFailed
from bot.flows.ports import ChatModel
from bot.flows.progress import Throttle
from bot.render.narrative import markdown_safe, render_text, short_summary

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0  # Slack edits at most ~1/s


def narrate(
    facts: Sequence[Fact],
    *,
    chat: ChatModel,
    on_progress: Callable[[str], None] | None = None,
    estimator: TokenEstimator | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Narrative:
    """Have the model explain ``facts``; never raises (see the module docstring).

    Pass a long-lived ``estimator`` to carry the token calibration from run to run.
    """
    model = chat.model
    try:
        return _narrate(facts, chat=chat, on_progress=on_progress, estimator=estimator, clock=clock)
    except Exception as exc:  # the contract is "never an exception to the caller"; log the bug
        log.exception("narrative failed unexpectedly")
        failed = Narrative(status="failed", reason=f"narrative failed unexpectedly ({type(exc).__name__})")
        failed.model = model
        return failed


def _narrate(
    facts: Sequence[Fact],
    *,
    chat: ChatModel,
    on_progress: Callable[[str], None] | None,
    estimator: TokenEstimator | None,
    clock: Callable[[], float],
) -> Narrative:
    model = chat.model
    num_ctx = chat.num_ctx
    if not facts:
        return Narrative(status="skipped", reason="no facts to narrate", model=model)
    estimator = estimator or TokenEstimator()
    try:
        prompt = build_prompt(facts, num_ctx=num_ctx, estimator=estimator)
    except PromptDoesNotFit as exc:
        return Narrative(status="failed", reason=str(exc), model=model, num_ctx=num_ctx)
    base = Narrative(
        status="failed",
        model=model,
        omitted_fact_ids=prompt.omitted_fact_ids,
        prompt_tokens_estimated=prompt.estimated_tokens,
        num_ctx=num_ctx,
    )
    progress = _Progress(on_progress, clock=clock)
    progress(f"writing summary with {model} ({len(prompt.fact_ids)} facts)", force=True)
    try:
        result = chat.chat(
            prompt.messages,
            format=ANSWER_SCHEMA,
            num_predict=prompt.answer_tokens,
            on_token=lambda n: progress(f"writing summary ({n} tokens)"),
        )
    except LLMCallFailed as exc:
        base.reason = str(exc)
        base.calls = [exc.metrics] if exc.metrics else []
        return base
    base.calls = [result.metrics]
    estimator.calibrate(prompt.chars, result.metrics.prompt_eval_count)
    try:
        answer = parse_answer(result.content, done_reason=result.metrics.done_reason)
    except OffFormat as exc:
        base.reason = str(exc)
        return base
    return _render(answer, facts=facts, cited_ok=set(prompt.fact_ids), base=base)


def _render(answer: Answer, *, facts: Sequence[Fact], cited_ok: set[str], base: Narrative) -> Narrative:
    by_id = {f.id: f for f in facts if f.id in cited_ok}
    ungrounded: list[str] = []

    def md(text: str, *, inline: bool = True) -> str:
        rendered, bad = render_text(text, facts=facts, citable=by_id, style="markdown")
        ungrounded.extend(bad)
        return markdown_safe(rendered, inline=inline)

    base.status = "ok"
    base.reason = ""
    base.summary_md = md(answer.summary, inline=False)
    base.recommendations = [md(r) for r in answer.recommendations]
    base.risks = [(md(r), md(m)) for r, m in answer.risks]
    base.ungrounded = ungrounded
    base.short_summary = short_summary(answer.summary, facts=facts, citable=by_id)
    return base


class _Progress:
    """Progress callback paced for Slack edits; a failing callback never breaks the narrative."""

    def __init__(self, callback: Callable[[str], None] | None, *, clock: Callable[[], float]) -> None:
        self._callback = callback
        self._throttle = Throttle(interval_s=PROGRESS_INTERVAL_S, clock=clock)

    def __call__(self, message: str, *, force: bool = False) -> None:
        if self._callback is None:
            return
        if self._throttle.ready() or force:
            try:
                self._callback(message)
            except Exception:  # a progress hook must never break the narrative
                log.warning("progress callback failed", exc_info=True)
