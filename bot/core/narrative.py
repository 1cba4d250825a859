"""The narrative as data: what the model wrote (validated), what it cost, and why it is missing.

`parse_answer` validates the model's structured answer; the flows (`bot.flows.narrate`) fill a
`Narrative` and the renderers (`bot.render.narrative`) turn it into Markdown and Slack text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.core.types import LLMCallMetrics

if TYPE_CHECKING:
    from bot.core.gate import GateVerdict

NarrativeStatus = Literal["ok", "skipped", "failed"]


@dataclass
class PromptCut:
    """Ollama cut (or refused) the narrative prompt: why we think so and what was done about it."""

    reason: str
    retried: bool = False
    dropped_fact_ids: list[str] = field(default_factory=list)  # left out for the retry, least important first
    retry_reason: str = ""  # the retry's prompt was cut as well

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "retried": self.retried,
                "dropped_fact_ids": list(self.dropped_fact_ids), "retry_reason": self.retry_reason}


@dataclass
class Narrative:
    status: NarrativeStatus
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
    prompt_cut: PromptCut | None = None
    gate: GateVerdict | None = None  # the quality gate's verdict on the model's answer (None: no answer)
    rejected_md: str = ""  # the model's text the gate rejected, for the report's appendix (never posted)

    @classmethod
    def skipped(cls, reason: str) -> Narrative:
        return cls(status="skipped", reason=reason)

    @property
    def prompt_tokens(self) -> int | None:
        """Ollama's count for the prompt of the last call that reported one, else our estimate."""
        counted = [c.prompt_eval_count for c in self.calls if c.prompt_eval_count is not None]
        return counted[-1] if counted else self.prompt_tokens_estimated

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
            "truncation": self.prompt_cut.to_json() if self.prompt_cut is not None else None,
            "gate": self.gate.to_json() if self.gate is not None else None,
        }


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
