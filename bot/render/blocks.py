"""Block Kit for the executive summary (pure: dicts in, dicts out).

Every figure comes from the run's ``headline`` (built from facts); every string that came from a
file or the model is escaped with `escape_mrkdwn`. Limits: <= 50 blocks, <= 3,000 chars per
section text, <= 10 fields of <= 2,000 chars, header <= 150 chars.
"""

from __future__ import annotations

from typing import Any

from bot.core.numbers import format_number
from bot.core.text import truncate
from bot.render.headline import Headline
from bot.render.slack_text import HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT, escape_mrkdwn, escape_plain, split_escaped

MAX_BLOCKS = 50
FIELD_TEXT_LIMIT = 2000




def _field(label: str, figure: str, detail: str = "") -> dict[str, Any]:
    text = f"*{label}*\n*{figure}*" + (f"\n{detail}" if detail else "")
    return {"type": "mrkdwn", "text": truncate(text, FIELD_TEXT_LIMIT)}


def headline_fields(headline: Headline) -> list[dict[str, Any]]:
    """The metric callouts: best throughput, TTFT p50/p95, failures, skipped files, ungrounded."""
    fields: list[dict[str, Any]] = []
    best = headline.best_throughput
    if best is not None:
        where = escape_mrkdwn(best.model or "?")
        if best.config:
            where += f" · `{escape_mrkdwn(best.config)}`"
        ref = f" [{escape_mrkdwn(best.fact_id)}]" if best.fact_id else ""
        unit = escape_mrkdwn(best.unit or "tok/s")
        noise = ""
        if best.noise and not best.separable:
            noise = f"\n_{escape_mrkdwn(truncate(best.noise, 200))}_"
        fields.append(_field("Best throughput", f"{format_number(best.value, style='figure')} {unit}",
                             where + ref + noise))
    else:
        fields.append(_field("Best throughput", "n/a", "no successful requests with throughput"))
    ttft = headline.ttft_ms
    if ttft is not None:
        refs = ", ".join(escape_mrkdwn(f) for f in ttft.fact_ids)
        p50, p95 = format_number(ttft.p50, style="figure"), format_number(ttft.p95, style="figure")
        fields.append(_field("TTFT p50 / p95", f"{p50} / {p95} ms", f"[{refs}]" if refs else ""))
    else:
        fields.append(_field("TTFT p50 / p95", "n/a", "no TTFT in this archive"))
    failed = headline.failed_requests
    fields.append(_field("Failed requests", str(failed), "excluded from every average" if failed else ""))
    skipped = headline.skipped_files
    fields.append(_field("Skipped files", str(skipped), "listed in the report" if skipped else ""))
    if headline.narrative_rejected:  # nothing the model wrote is posted: say so, not its count
        fields.append(_field("Model's summary", "not used", "failed the quality gate; in the report's appendix"))
    else:
        ungrounded = headline.ungrounded_numbers
        fields.append(_field("Ungrounded numbers", str(ungrounded),
                             ":warning: flagged in the report" if ungrounded else "every number checked"))
    return fields


def summary_blocks(
    *,
    archive_name: str,
    headline: Headline,
    narrative: str,
    note: str = "",
    footer: str = "",
) -> list[dict[str, Any]]:
    """The message that replaces the progress message once the analysis is done.

    ``narrative`` is the model's (or data-only) short summary, untrusted; ``note`` says why the
    narrative is missing/limited (also untrusted: it may quote an Ollama error); ``footer`` is ours.
    """
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": truncate(
            escape_plain(f"Benchmark summary: {archive_name}"), HEADER_TEXT_LIMIT)}},
        {"type": "section", "fields": headline_fields(headline)},
    ]
    tail: list[dict[str, Any]] = []
    if note:
        tail.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate(":information_source: " + escape_mrkdwn(note), 3000)}]})
    if footer:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(footer, 3000)}]})
    room = MAX_BLOCKS - len(blocks) - len(tail) - 1  # -1 keeps space for the "continued" marker
    if narrative.strip():
        sections = split_escaped(narrative.strip(), SECTION_TEXT_LIMIT)
        blocks.append({"type": "divider"})
        room -= 1
        for i, text in enumerate(sections):
            if i >= room:
                blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                               "text": "_Summary shortened to fit Slack; the full text is in the report._"}]})
                break
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    blocks.extend(tail)
    return blocks


def fallback_text(*, archive_name: str, headline: Headline) -> str:
    """Notification / screen-reader text for the summary message (short, escaped)."""
    best = headline.best_throughput
    parts = [f"Benchmark summary for {escape_mrkdwn(archive_name)}"]
    if best is not None:
        parts.append(f"best throughput {format_number(best.value, style='figure')} {escape_mrkdwn(best.unit)}"
                     f" ({escape_mrkdwn(best.model or '?')})")
    parts.append(f"{headline.failed_requests} failed requests")
    return ", ".join(parts)
