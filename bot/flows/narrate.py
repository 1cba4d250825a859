"""The narrative step: facts -> one structured gemma3 call -> grounded, rendered `Narrative`.

`narrate` never raises: every way the model can fail (unreachable, 404, timeout, 5xx, broken
stream, empty or off-format answer, a context window too small) becomes
``Narrative(status="failed", reason=...)`` and the report is built from the facts alone.

The prompt is fitted to ``num_ctx`` with a conservative token estimate; the reply is still checked
for a prompt Ollama cut anyway (`bot.core.prompts.budget.truncation`, or an HTTP 400 naming the
context length). Then the call is made once more with fewer facts — the least important left out,
named in the report — and if that prompt is cut too, the summary comes from the data alone.

The answer then goes through the quality gate (`bot.core.gate`): it is used only when every sentence
cites the facts it rests on, every number and ratio word is grounded in a fact it can belong to,
nothing is repeated or looping and the length is what was asked. A rejected answer becomes
``Narrative(status="failed")`` with the gate's first reason; its text is kept (``rejected_md``) for
the report's appendix, marked as not used, and Slack gets the data-only summary.

The model cites facts by id (``[F3]``); the renderer writes the exact values, bolded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.gate import judge
from bot.core.narrative import Answer, Narrative, PromptCut
from bot.core.prompts.budget import TokenEstimator, truncation
from bot.core.prompts.narrative import ANSWER_SCHEMA, WORDS_REQUESTED, Prompt, PromptDoesNotFit, build_prompt
from bot.core.types import ChatResult, Fact, LLMCallMetrics
from bot.errors import LLMCallFailed
from bot.flows.ports import ChatModel
from bot.flows.progress import Throttle
from bot.render.narrative import markdown_safe, raw_text_markdown, rejected_markdown, render_text, short_summary

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0  # Slack edits at most ~1/s
RETRY_PROMPT_SHARE = 0.5  # after a cut, the retry's prompt is at most this share of the first one


def narrate(
    facts: Sequence[Fact],
    *,
    chat: ChatModel,
    on_progress: Callable[[str], None] | None = None,
    estimator: TokenEstimator | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Narrative:
    """Have the model explain ``facts``; never raises (see the module docstring).

    Pass a long-lived ``estimator`` so what one call teaches it (`TokenEstimator.observe`) holds
    for the next run.
    """
    model = chat.model
    try:
        return _narrate(facts, chat=chat, on_progress=on_progress, estimator=estimator, clock=clock)
    except Exception as exc:  # the contract is "never an exception to the caller"; log the bug
        log.exception("narrative failed unexpectedly")
        failed = Narrative(status="failed", reason=f"narrative failed unexpectedly ({type(exc).__name__})")
        failed.model = model
        return failed


@dataclass
class _Outcome:
    """One call: its result, or the failure, and whether Ollama cut (or refused) the prompt."""

    result: ChatResult | None = None
    error: LLMCallFailed | None = None
    cut: str = ""


def _ask(chat: ChatModel, prompt: Prompt, progress: _Progress) -> _Outcome:
    try:
        result = chat.chat(
            prompt.messages,
            format=ANSWER_SCHEMA,
            num_predict=prompt.answer_tokens,
            on_token=lambda n: progress(f"writing summary ({n} tokens)"),
        )
    except LLMCallFailed as exc:
        return _Outcome(error=exc, cut=str(exc) if exc.kind == "context_overflow" else "")
    cut = truncation(counted=result.metrics.prompt_eval_count, estimated=prompt.baseline_tokens,
                     num_ctx=prompt.num_ctx)
    return _Outcome(result=result, cut=cut)


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
    outcome = _ask(chat, prompt, progress)
    base.calls += _metrics(outcome)
    if outcome.cut:
        log.warning("narrative prompt cut by Ollama: %s", outcome.cut)
        retry = _retry(facts, prompt, estimator, outcome.cut, base)
        if retry is None:
            return base
        progress(f"Ollama cut the prompt; retrying with {len(retry.fact_ids)} facts", force=True)
        outcome = _ask(chat, retry, progress)
        base.calls += _metrics(outcome)
        if outcome.cut:
            assert base.prompt_cut is not None
            base.prompt_cut.retry_reason = outcome.cut
            base.reason = (f"Ollama cut the prompt again after the retry with {len(retry.fact_ids)} facts "
                           f"({outcome.cut}) — raise OLLAMA_NUM_CTX; the summary comes from the data alone")
            return base
        prompt = retry
    if outcome.error is not None or outcome.result is None:
        base.reason = str(outcome.error) if outcome.error is not None else "no answer"
        return base
    result = outcome.result
    if estimator.observe(estimated=prompt.estimated_tokens, counted=result.metrics.prompt_eval_count):
        log.warning("Ollama counted %s prompt tokens, above the estimate of %s: the estimate is raised "
                    "(factor %.2f) for this process", result.metrics.prompt_eval_count,
                    prompt.estimated_tokens, estimator.factor)
    answer, verdict = judge(result.content, facts=facts, citable=set(prompt.fact_ids),
                            done_reason=result.metrics.done_reason, words=WORDS_REQUESTED)
    base.gate = verdict
    if answer is None:  # not the JSON asked for: the parser's reason says why
        base.reason = next(p.text for p in verdict.problems if p.rule == "off_format")
        base.rejected_md = raw_text_markdown(result.content)
        return base
    rendered = _render(answer, facts=facts, cited_ok=set(prompt.fact_ids), base=base)
    if verdict.passed:
        return rendered
    log.warning("narrative rejected by the quality gate: %s", "; ".join(verdict.reasons))
    more = len(verdict.reasons) - 1
    rendered.reason = (f"the quality gate rejected the model's text: {verdict.reasons[0]}"
                       + (f" (and {more} more reason{'s' if more > 1 else ''})" if more else ""))
    rendered.status = "failed"
    rendered.rejected_md = rejected_markdown(rendered)
    rendered.summary_md = rendered.short_summary = ""
    rendered.recommendations, rendered.risks = [], []
    return rendered


def _metrics(outcome: _Outcome) -> list[LLMCallMetrics]:
    if outcome.result is not None:
        return [outcome.result.metrics]
    return [outcome.error.metrics] if outcome.error is not None and outcome.error.metrics else []


def _retry(facts: Sequence[Fact], prompt: Prompt, estimator: TokenEstimator, cut: str,
           base: Narrative) -> Prompt | None:
    """The retry's prompt: at most half the first one's tokens, least important facts left out."""
    base.prompt_cut = PromptCut(reason=cut)
    try:
        retry = build_prompt(facts, num_ctx=prompt.num_ctx, estimator=estimator,
                             max_prompt_tokens=int(prompt.estimated_tokens * RETRY_PROMPT_SHARE))
    except PromptDoesNotFit:
        base.reason = f"{cut}; a shorter prompt would hold no fact — raise OLLAMA_NUM_CTX"
        return None
    base.prompt_cut.retried = True
    base.prompt_cut.dropped_fact_ids = [f for f in retry.omitted_fact_ids if f not in prompt.omitted_fact_ids]
    base.omitted_fact_ids = retry.omitted_fact_ids
    base.prompt_tokens_estimated = retry.estimated_tokens
    return retry


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
