"""A thread answer rendered for Slack: cited facts as exact values, every other number checked.

Text from people, files and the model is escaped for Slack; only values inserted from the facts
are bold, so an unverified number can never look like one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core import followup
from bot.core.grounding import UNVERIFIED, render_edits
from bot.core.numbers import format_number
from bot.core.types import Fact
from bot.render.slack_text import MESSAGE_TEXT_LIMIT, escape_mrkdwn

REPORT_FACTS_WITHOUT_LLM = 5


def render_answer(text: str, facts: Sequence[Fact]) -> tuple[str, list[str]]:
    """The model's answer as safe Slack mrkdwn: cited ids -> exact values in bold, every other
    number checked and marked `UNVERIFIED` (not bold) when no fact holds it.

    Returns the text and the ungrounded numbers (plus unknown citations) as written.
    """
    edits, bad = render_edits(
        text, facts=facts, citable={f.id: f for f in facts},
        cite=lambda fact: f"*{escape_mrkdwn(format_number(fact.value, fact.unit, style='value'))}*")
    out: list[str] = []
    at = 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        out.append(_plain(text[at:start]))
        out.append(replacement)
        at = end
    out.append(_plain(text[at:]))
    return "".join(out).strip(), bad


def _plain(segment: str) -> str:
    """Model text: escaped, Markdown bullets/headings made plain, and no bold of its own (only
    values inserted from the facts are bold, so an unverified number can never look like one)."""
    segment = re.sub(r"(?m)^[ \t]*[-*][ \t]+", "• ", segment)
    segment = re.sub(r"(?m)^[ \t]*#{1,6}[ \t]*", "", segment)
    return escape_mrkdwn(segment.replace("*", ""))


def fact_bullets(facts: Sequence[Fact], *, with_sources: bool = True) -> list[str]:
    """``• <statement> — *<value>* [Q1] (<files>)`` lines (escaped) for the facts themselves."""
    lines = []
    for fact in facts:
        value = format_number(fact.value, fact.unit, style="value")
        line = f"• {escape_mrkdwn(fact.statement)} — *{escape_mrkdwn(value)}* [{fact.id}]"
        if with_sources and fact.sources:
            more = len(fact.sources) - 3
            files = ", ".join(fact.sources[:3]) + (f" and {more} more" if more > 0 else "")
            line += f" _({escape_mrkdwn(files)})_"
        lines.append(line)
    return lines


def _fitting(lines: list[str], limit: int) -> list[str]:
    """As many whole lines as fit in ``limit`` characters, then how many were left out: the
    answer stays one Slack message and never ends in a cut-off ``*bold``."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        if kept and used + len(line) + 1 > limit:
            return [*kept, f"• …and {len(lines) - index} more (ask about fewer models or configurations)"]
        kept.append(line)
        used += len(line) + 1
    return kept


@dataclass
class ComposedAnswer:
    text: str
    ungrounded: list[str] = field(default_factory=list)
    llm_used: bool = False


def compose(*, narrative: str | None, facts: Sequence[Fact], computed: followup.Computation,
            unavailable_reason: str | None = None) -> ComposedAnswer:
    """The final message: the model's grounded answer (or the unavailable line), the notes, and
    the computed facts with their files."""
    parts: list[str] = []
    ungrounded: list[str] = []
    if narrative is not None:
        rendered, ungrounded = render_answer(narrative, facts)
        parts.append(rendered)
    parts += [f"_{escape_mrkdwn(note)}_" for note in computed.notes]
    if computed.facts:
        parts.append("*Computed from the stored measurements:*\n" + "\n".join(
            _fitting(fact_bullets(computed.facts), MESSAGE_TEXT_LIMIT - 600 - sum(len(p) for p in parts))))
    elif narrative is None and not computed.query.problems:
        report = [f for f in facts if f.id.startswith("F")][:REPORT_FACTS_WITHOUT_LLM]
        if report:
            parts.append("*From the report:*\n" + "\n".join(fact_bullets(report, with_sources=False)))
    if ungrounded:
        parts.append(f"_{UNVERIFIED}: {len(ungrounded)} number(s) above match no fact and are marked._")
    if unavailable_reason is not None:
        parts.append(f"_The narrative part is unavailable: {escape_mrkdwn(unavailable_reason)}._")
    return ComposedAnswer("\n\n".join(p for p in parts if p), ungrounded, llm_used=narrative is not None)
