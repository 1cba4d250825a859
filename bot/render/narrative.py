"""The narrative rendered: the report's summary section, its metrics footer, and the Slack text.

Citations become exact values (bold); every other number the model wrote is checked against the
facts (`bot.core.grounding`) and marked when none holds it. Model text never breaks the report
around it (`markdown_safe`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from bot.core import grounding
from bot.core.grounding import UNVERIFIED
from bot.core.narrative import Narrative
from bot.core.numbers import format_number
from bot.core.types import Fact
from bot.render.summary import DataSummary

SHORT_SUMMARY_CHARS = 700
KEY_FACTS_MIN_IMPORTANCE = 70
SLACK_KEY_FACTS = 8
RAW_TEXT_CHARS = 3000


def narrative_markdown(narrative: Narrative, facts: Sequence[Fact]) -> str:
    """The narrative section of the report, or the one line saying why it is missing."""
    if narrative.status != "ok":
        what = "skipped" if narrative.status == "skipped" else "not available"
        reason = markdown_safe(narrative.reason, inline=True)
        return f"_Narrative {what}: {reason}. The figures below come from the data alone._\n"
    parts = ["## Executive summary", "", narrative.summary_md.strip(), ""]
    if narrative.recommendations:
        parts += ["### Recommendations", ""]
        parts += [f"{i}. {text}" for i, text in enumerate(narrative.recommendations, 1)]
        parts.append("")
    if narrative.risks:
        parts += ["### Risks and mitigations", "", "| Risk | Mitigation |", "|---|---|"]
        parts += [f"| {_cell(risk)} | {_cell(fix)} |" for risk, fix in narrative.risks]
        parts.append("")
    if narrative.ungrounded:
        parts.append(
            f"> {UNVERIFIED}: {len(narrative.ungrounded)} number(s) written by the model match no "
            f"fact and are marked: {', '.join(narrative.ungrounded)}."
        )
        parts.append("")
    if narrative.omitted_fact_ids:
        by_id = {f.id: f for f in facts}
        listed = ", ".join(
            f"{fid} ({markdown_safe(by_id[fid].statement, inline=True)})" if fid in by_id else fid
            for fid in narrative.omitted_fact_ids
        )
        parts.append(
            f"> Left out of the model's prompt to fit num_ctx={narrative.num_ctx} "
            f"(least important first; still in the tables below): {listed}."
        )
        parts.append("")
    cut = narrative.prompt_cut
    if cut is not None and cut.retried:
        parts.append(f"> Ollama cut the first prompt ({cut.reason}); this summary was written from a shorter "
                     f"prompt without {', '.join(cut.dropped_fact_ids) or 'any further fact'} "
                     "(least important first).")
        parts.append("")
    parts.append(f"_Written by {narrative.model} from the facts; values inserted from the data._")
    return "\n".join(parts) + "\n"

def metrics_markdown(narrative: Narrative, timings_s: Mapping[str, float] | None = None) -> str:
    """The "Metrics" footer: per call TTFT, throughput, durations and token counts.

    ``timings_s`` (e.g. ingest/analysis/report) is added as the workflow line when given.
    """
    lines = ["## Metrics", ""]
    if timings_s:
        flow = " | ".join(f"{name} {seconds:.2f} s" for name, seconds in timings_s.items())
        lines += [f"Workflow: {flow}", ""]
    if not narrative.calls:
        lines.append(f"LLM: no call made ({narrative.status}{': ' + narrative.reason if narrative.reason else ''}).")
        return "\n".join(lines) + "\n"
    lines += [
        ("| Call | Model | TTFT | Throughput | Prompt eval | Eval | Load | Total | "
        "Prompt tokens | Output tokens | Attempts |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for call in narrative.calls:
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
        cite=lambda fact: f"{bold}{format_number(fact.value, fact.unit, style='value')}{bold}")
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


def narrative_note(narrative: Narrative) -> str:
    """One line for Slack when the narrative is missing or limited (its reason may quote Ollama)."""
    gate = narrative.gate
    if narrative.status != "ok" and gate is not None and not gate.passed:
        broken = gate.rules_broken
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        return (f"Summary from the data alone: the model's text failed the quality gate — {broken[0]}{more}; "
                "it is in the report's appendix, marked not used.")
    if narrative.reason and narrative.status != "ok":
        return f"Narrative {narrative.status}: {narrative.reason}"
    return ""


def key_facts(facts: Sequence[Fact], limit: int) -> list[Fact]:
    """The facts a summary from the data alone lists: the most important ones, in id order."""
    return [f for f in facts if f.importance >= KEY_FACTS_MIN_IMPORTANCE][:limit]


def slack_summary(narrative: Narrative, summary: DataSummary, facts: Sequence[Fact] = ()) -> str:
    """The summary text Slack shows: the model's (when it passed the gate), else the summary written
    from the data by rules (`bot.render.summary`), else (nothing could be written) the key facts."""
    if narrative.status == "ok" and narrative.short_summary.strip():
        return narrative.short_summary
    if summary.sentences:
        return "*From the data:* " + summary.slack_text()
    lines = [f"• {' '.join(f.statement.split())} [{f.id}]" for f in key_facts(facts, SLACK_KEY_FACTS)]
    return "*From the data:*\n" + "\n".join(lines) if lines else ""


def raw_text_markdown(content: str) -> str:
    """The model's raw output, shown as a code block (shortened), never as Markdown of its own."""
    text = content if len(content) <= RAW_TEXT_CHARS else content[:RAW_TEXT_CHARS] + "\n… (cut)"
    fence = "~~~~" if "```" in text or "~~~" in text else "```"
    return f"{fence}text\n{text.replace(fence, '')}\n{fence}"


def rejected_markdown(narrative: Narrative) -> str:
    """The rendered text of a narrative the gate rejected: summary, recommendations, risks."""
    parts = [narrative.summary_md.strip(), ""]
    if narrative.recommendations:
        parts += ["Recommendations:", ""]
        parts += [f"{i}. {text}" for i, text in enumerate(narrative.recommendations, 1)]
        parts.append("")
    if narrative.risks:
        parts += ["Risks and mitigations:", ""]
        parts += [f"- {risk} — {fix}" for risk, fix in narrative.risks]
    return "\n".join(parts).strip()


def rejected_appendix(narrative: Narrative | None) -> str:
    """The report's appendix holding the model's text the quality gate rejected, marked as not used."""
    if narrative is None or not narrative.rejected_md or narrative.gate is None or narrative.gate.passed:
        return ""
    reasons = "\n".join(f"> - {markdown_safe(reason, inline=True)}" for reason in narrative.gate.reasons)
    return (f"## Appendix: the model's text (NOT USED)\n\n"
            f"> **Not used.** {narrative.model or 'The model'} wrote the text below; it failed the quality gate, "
            f"so the summary above comes from the data alone:\n{reasons}\n\n{narrative.rejected_md}\n")


def markdown_safe(text: str, *, inline: bool) -> str:
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
