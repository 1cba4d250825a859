"""The narrative step: facts -> one structured gemma3 call -> grounded, rendered `Narrative`.

`narrate` never raises: every way the model can fail (unreachable, 404, timeout, 5xx, broken
stream, empty or off-format answer, a context window too small) becomes
``Narrative(status="failed", reason=...)`` and the report is built from the facts alone.

The model cites facts by id (``[F3]``); the renderer writes the exact values, bolded. Every other
number the model writes is checked against the facts (`bot.core.grounding`); those matching none are
marked ``⚠️unverified`` in the Markdown and kept out of the Slack ``short_summary``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core import grounding
from bot.core.grounding import UNVERIFIED, format_value
from bot.adapters.ollama import stream_chat
from bot.core.types import LLMCallMetrics
from bot.errors import LLMCallFailed
from bot.core.types import Fact
from bot.core.prompting import ANSWER_SCHEMA, PromptDoesNotFit, TokenEstimator, build_prompt
from bot.settings import Settings

log = logging.getLogger(__name__)

SHORT_SUMMARY_CHARS = 700
PROGRESS_INTERVAL_S = 1.0  # Slack edits at most ~1/s


@dataclass
class Narrative:
    status: Literal["ok", "skipped", "failed"]
    reason: str = ""
    summary_md: str = ""
    short_summary: str = ""
    recommendations: list[str] = field(default_factory=list)
    risks: list[tuple[str, str]] = field(default_factory=list)
    ungrounded: list[str] = field(default_factory=list)
    omitted_fact_ids: list[str] = field(default_factory=list)
    calls: list[LLMCallMetrics] = field(default_factory=list)
    model: str = ""
    prompt_tokens_estimated: int | None = None
    num_ctx: int | None = None

    @classmethod
    def skipped(cls, reason: str) -> Narrative:
        return cls(status="skipped", reason=reason)

    @property
    def prompt_tokens(self) -> int | None:
        """Ollama's count for the prompt when a call reported it, else our estimate."""
        counted = [c.prompt_eval_count for c in self.calls if c.prompt_eval_count is not None]
        return sum(counted) if counted else self.prompt_tokens_estimated

    def render_markdown(self, facts: Sequence[Fact]) -> str:
        """The narrative section of the report, or the one line saying why it is missing."""
        if self.status != "ok":
            what = "skipped" if self.status == "skipped" else "not available"
            return f"_Narrative {what}: {self.reason}. The figures below come from the data alone._\n"
        parts = ["## Executive summary", "", self.summary_md.strip(), ""]
        if self.recommendations:
            parts += ["### Recommendations", ""]
            parts += [f"{i}. {text}" for i, text in enumerate(self.recommendations, 1)]
            parts.append("")
        if self.risks:
            parts += ["### Risks and mitigations", "", "| Risk | Mitigation |", "|---|---|"]
            parts += [f"| {_cell(risk)} | {_cell(fix)} |" for risk, fix in self.risks]
            parts.append("")
        if self.ungrounded:
            parts.append(
                f"> {UNVERIFIED}: {len(self.ungrounded)} number(s) written by the model match no "
                f"fact and are marked: {', '.join(self.ungrounded)}."
            )
            parts.append("")
        if self.omitted_fact_ids:
            by_id = {f.id: f for f in facts}
            listed = ", ".join(
                f"{fid} ({_markdown_safe(by_id[fid].statement, inline=True)})" if fid in by_id else fid
                for fid in self.omitted_fact_ids
            )
            parts.append(
                f"> Left out of the model's prompt to fit num_ctx={self.num_ctx} "
                f"(least important first; still in the tables below): {listed}."
            )
            parts.append("")
        parts.append(f"_Written by {self.model} from the facts; values inserted from the data._")
        return "\n".join(parts) + "\n"

    def metrics_markdown(self, timings_s: Mapping[str, float] | None = None) -> str:
        """The "Metrics" footer: per call TTFT, throughput, durations and token counts.

        ``timings_s`` (e.g. ingest/analysis/report) is added as the workflow line when given.
        """
        lines = ["## Metrics", ""]
        if timings_s:
            flow = " | ".join(f"{name} {seconds:.2f} s" for name, seconds in timings_s.items())
            lines += [f"Workflow: {flow}", ""]
        if not self.calls:
            lines.append(f"LLM: no call made ({self.status}{': ' + self.reason if self.reason else ''}).")
            return "\n".join(lines) + "\n"
        lines += [
            ("| Call | Model | TTFT | Throughput | Prompt eval | Eval | Load | Total | "
            "Prompt tokens | Output tokens | Attempts |"),
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for call in self.calls:
            status = call.purpose if call.ok else f"{call.purpose} (failed)"
            lines.append(
                f"| {status} | {call.model} | {_ms(call.ttft_ms)} | {_rate(call.throughput_tok_s)} | "
                f"{_ms(call.prompt_eval_ms)} | {_ms(call.eval_ms)} | {_ms(call.load_ms)} | "
                f"{_ms(call.total_ms if call.total_ms is not None else call.wall_ms)} | "
                f"{_count(call.prompt_eval_count)} | {_count(call.eval_count)} | {call.attempts} |"
            )
        lines += [
            "",
            ("TTFT: wall clock from sending the request to the first streamed token. "
            "Throughput: eval_count / eval_duration. Durations and counts: Ollama's final record."),
        ]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "model": self.model,
            "calls": [c.to_json() for c in self.calls],
            "ungrounded_count": len(self.ungrounded),
            "ungrounded": list(self.ungrounded),
            "omitted_fact_ids": list(self.omitted_fact_ids),
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_estimated": self.prompt_tokens_estimated,
            "num_ctx": self.num_ctx,
        }


def narrate(
    facts: Sequence[Fact],
    *,
    settings: Settings,
    on_progress: Callable[[str], None] | None = None,
    estimator: TokenEstimator | None = None,
) -> Narrative:
    """Have the model explain ``facts``; never raises (see the module docstring).

    Pass a long-lived ``estimator`` to carry the token calibration from run to run.
    """
    model = settings.ollama_model
    try:
        return _narrate(facts, settings=settings, on_progress=on_progress, estimator=estimator)
    except Exception as exc:  # the contract is "never an exception to the caller"; log the bug
        log.exception("narrative failed unexpectedly")
        failed = Narrative(status="failed", reason=f"narrative failed unexpectedly ({type(exc).__name__})")
        failed.model = model
        return failed


def _narrate(
    facts: Sequence[Fact],
    *,
    settings: Settings,
    on_progress: Callable[[str], None] | None,
    estimator: TokenEstimator | None,
) -> Narrative:
    model = settings.ollama_model
    num_ctx = settings.ollama_num_ctx
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
    progress = _Throttled(on_progress)
    progress(f"writing summary with {model} ({len(prompt.fact_ids)} facts)", force=True)
    try:
        result = stream_chat(
            prompt.messages,
            settings=settings,
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


class OffFormat(ValueError):
    """The model's answer is empty or not the JSON shape we asked for."""


@dataclass(frozen=True)
class Answer:
    summary: str
    recommendations: list[str]
    risks: list[tuple[str, str]]


def parse_answer(content: str, *, done_reason: str | None = None) -> Answer:
    """Validate the structured answer; raises `OffFormat` with a one-line reason."""
    if not content.strip():
        raise OffFormat("the model returned an empty answer")
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        hint = " (cut off at num_predict)" if done_reason == "length" else ""
        raise OffFormat(f"the model's answer is not the JSON we asked for{hint}") from None
    if not isinstance(data, dict):
        raise OffFormat("the model's answer is not a JSON object")
    summary = data.get("summary")
    recs = data.get("recommendations")
    risks = data.get("risks")
    if not isinstance(summary, str) or not summary.strip():
        raise OffFormat("the model's answer has no summary")
    if not isinstance(recs, list) or not all(isinstance(r, str) and r.strip() for r in recs):
        raise OffFormat("the model's answer has no usable recommendations")
    if len(recs) < 3:
        raise OffFormat(f"the model gave {len(recs)} recommendation(s), three were asked for")
    if not isinstance(risks, list) or len(risks) < 2:
        raise OffFormat("the model's answer has fewer than two risks")
    pairs = []
    for item in risks:
        if not isinstance(item, dict):
            raise OffFormat("a risk in the model's answer is not a risk/mitigation pair")
        risk, fix = item.get("risk"), item.get("mitigation")
        if not isinstance(risk, str) or not isinstance(fix, str) or not risk.strip() or not fix.strip():
            raise OffFormat("a risk in the model's answer lacks its risk or mitigation")
        pairs.append((risk.strip(), fix.strip()))
    return Answer(summary.strip(), [r.strip() for r in recs[:3]], pairs)


def _render(answer: Answer, *, facts: Sequence[Fact], cited_ok: set[str], base: Narrative) -> Narrative:
    by_id = {f.id: f for f in facts if f.id in cited_ok}
    ungrounded: list[str] = []

    def md(text: str, *, inline: bool = True) -> str:
        rendered, bad = render_text(text, facts=facts, citable=by_id, style="markdown")
        ungrounded.extend(bad)
        return _markdown_safe(rendered, inline=inline)

    base.status = "ok"
    base.reason = ""
    base.summary_md = md(answer.summary, inline=False)
    base.recommendations = [md(r) for r in answer.recommendations]
    base.risks = [(md(r), md(m)) for r, m in answer.risks]
    base.ungrounded = ungrounded
    base.short_summary = short_summary(answer.summary, facts=facts, citable=by_id)
    return base


def render_text(
    text: str,
    *,
    facts: Sequence[Fact],
    citable: Mapping[str, Fact],
    style: Literal["markdown", "slack"] = "markdown",
) -> tuple[str, list[str]]:
    """Replace citations with exact values and mark ungrounded numbers.

    Returns the rendered text and the ungrounded numbers (as written, plus unknown citations).
    """
    bold = "**" if style == "markdown" else "*"
    edits, bad = grounding.render_edits(
        text, facts=facts, citable=citable,
        cite=lambda fact: f"{bold}{format_value(fact.value, fact.unit)}{bold}")
    out = text
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + replacement + out[end:]
    return out, bad


def short_summary(summary: str, *, facts: Sequence[Fact], citable: Mapping[str, Fact]) -> str:
    """At most 700 chars for Slack: whole sentences whose every number is grounded.

    Sentences with an unverified number (or an unknown citation) are left out entirely; values
    come from the cited facts in Slack's ``*bold*``.
    """
    kept: list[str] = []
    length = 0
    for sentence in _sentences(summary):
        rendered, bad = render_text(sentence, facts=facts, citable=citable, style="slack")
        if bad:
            continue
        rendered = rendered.replace("**", "*")  # the model's Markdown bold -> Slack bold
        extra = len(rendered) + (1 if kept else 0)
        if length + extra > SHORT_SUMMARY_CHARS:
            break
        kept.append(rendered)
        length += extra
    return " ".join(kept)


def _markdown_safe(text: str, *, inline: bool) -> str:
    """The model's Markdown, unable to break the report around it.

    Raw HTML is made literal (an unclosed ``<!--`` would hide the data tables below it); list
    items and table cells stay on one line; in the summary, headings and setext underlines are
    escaped so the report's outline stays ours.
    """
    text = text.replace("<", "&lt;")
    if inline:
        return " ".join(text.split())
    text = re.sub(r"(?m)^([ \t]{0,3})(#{1,6})(?=[ \t]|$)", r"\1\\\2", text)
    return re.sub(r"(?m)^([ \t]{0,3})(=+|-{3,})[ \t]*$", r"\1\\\2", text)


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    # split after . ! ? followed by a space and a capital/quote/bracket; keeps "0.87 s" intact
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*\"'(\[_])", flat) if s]


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:.0f} ms"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} tok/s"


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


class _Throttled:
    """Progress callback limited to one message per second (Slack edits are rate limited)."""

    def __init__(self, callback: Callable[[str], None] | None) -> None:
        self._callback = callback
        self._last = float("-inf")

    def __call__(self, message: str, *, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            try:
                self._callback(message)
            except Exception:  # a progress hook must never break the narrative
                log.warning("progress callback failed", exc_info=True)
