"""News (`bot.core.news.News`) as Slack lines, a headline, a Markdown report and a JSON document (pure).

Every kind of news is its own line, worst first; the headline names the worst of them. The one
green check is "no significant change", and only when there is no news at all. Model, configuration,
archive, unit and error texts come from archives (untrusted): escaped for mrkdwn or Markdown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.jsonsafe import strict_json
from bot.core.metrics import METRICS
from bot.core.news import Level, News, NewsItem, NewsKind, SeriesResult
from bot.core.numbers import format_number
from bot.core.regression import IMPROVEMENT, REGRESSION, Trend, Verdict
from bot.core.text import truncate
from bot.render.blocks import MAX_BLOCKS
from bot.render.slack_text import (
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    escape_mrkdwn,
    escape_plain,
    split_text,
    untrusted,
)

LEVEL_ICON: dict[Level, str] = {
    "critical": ":red_circle:", "major": ":large_orange_circle:", "minor": ":large_yellow_circle:",
    "warning": ":warning:", "info": ":information_source:",
}
KIND_ICON: dict[NewsKind, str] = {
    "improvement": ":large_green_circle:", "model new": ":new:", "configuration new": ":new:",
    "too few requests": ":grey_question:",
}
TITLE: dict[NewsKind, str] = {
    "every request failed": "Every request failed", "regression": "Regression",
    "failure rate up": "Failure rate up", "model gone": "Model gone", "slow creep": "Slow creep",
    "configuration gone": "Configuration gone", "configuration changed": "Configuration changed",
    "configuration key changed": "Configuration key changed", "unit changed": "Unit changed",
    "definition changed": "Definition changed", "too few requests": "Too few requests",
    "improvement": "Improvement", "model new": "New model", "configuration new": "New configuration",
}
PLURAL: dict[NewsKind, tuple[str, str]] = {
    "every request failed": ("configuration with every request failed", "configurations with every request failed"),
    "regression": ("regression", "regressions"), "failure rate up": ("failure rate up", "failure rates up"),
    "model gone": ("model gone", "models gone"), "slow creep": ("slow creep", "slow creeps"),
    "configuration gone": ("configuration gone", "configurations gone"),
    "configuration changed": ("configuration changed", "configurations changed"),
    "configuration key changed": ("configuration key changed", "configuration keys changed"),
    "unit changed": ("unit changed", "units changed"),
    "definition changed": ("definition changed", "definitions changed"),
    "too few requests": ("too few requests", "too few requests"),
    "improvement": ("improvement", "improvements"), "model new": ("new model", "new models"),
    "configuration new": ("new configuration", "new configurations"),
}
MAX_CONFIGS_NAMED = 3
MAX_ITEMS_SHOWN = 15  # lines in the Slack message; all of them are in the report in the thread
METHOD = ("newest run vs the last runs of the same model, configuration and metric: a 90 % interval on "
          "log run centres (request and run-to-run noise), alerts at p < 0.02 and ≥ 3 %, severity "
          "from the interval's bound nearest zero, a trend test for slow creep")


@dataclass(frozen=True)
class Style:
    """How untrusted text is written: Slack mrkdwn or Markdown."""

    text: Callable[[str], str]
    code: Callable[[str], str]
    bold: Callable[[str], str]


def _mrkdwn_code(text: str) -> str:
    return f"`{escape_mrkdwn(text).replace('`', chr(39))}`"


def _md_line(text: str) -> str:
    return " ".join(str(text).replace("<", "&lt;").split())


MRKDWN = Style(text=escape_mrkdwn, code=_mrkdwn_code, bold=lambda s: f"*{s}*")
MARKDOWN = Style(text=_md_line, code=lambda s: f"`{_md_line(s).replace('`', chr(39))}`",
                 bold=lambda s: f"**{s}**")


# --------------------------------------------------------------------------- numbers


def pct(value: float | None) -> str:
    """+4.2%, −15%: one decimal below 10 %, signed, with a real minus sign."""
    if value is None:
        return "n/a"
    if abs(value) < 0.0005:
        return "±0.0%"
    digits = 0 if abs(value) >= 0.095 else 1
    return f"{value:+.{digits}%}".replace("-", "−")


def interval(bounds: tuple[float, float] | None, point: float | None) -> str:
    """``(−11…−19%)``: the bound nearest zero first."""
    if bounds is None or point is None:
        return ""
    lo, hi = bounds
    near, far = (hi, lo) if point < 0 else (lo, hi)
    return f"({pct(near).rstrip('%')}…{pct(far)})"


def change(v: Verdict) -> str:
    """``−15% (−11…−19%)``."""
    return f"{pct(v.rel_change)} {interval(v.interval, v.rel_change)}".strip()


def creep(t: Trend) -> str:
    return f"{pct(t.per_run)}/run {interval(t.per_run_interval, t.per_run)} over {t.runs} runs, {pct(t.total)} in total"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def _metric(name: str) -> str:
    rule = METRICS.get(name)
    return rule.label if rule else name


# --------------------------------------------------------------------------- lines


def item_line(item: NewsItem, style: Style = MRKDWN, *, baseline: str | None = None) -> str:
    """One news line: icon, title, where, what."""
    icon = KIND_ICON.get(item.kind, LEVEL_ICON[item.level])
    return f"{icon} {style.bold(title(item))} · " + " · ".join(p for p in _parts(item, style, baseline) if p)


def title(item: NewsItem) -> str:
    if item.kind == "regression" and item.series is not None:
        v = item.series.verdict
        text = f"{v.severity.upper()} regression"
        return text + (f" (up to {v.severity_max})" if v.severity_max != v.severity else "")
    return TITLE[item.kind]


def _where(item: NewsItem, style: Style, *, config: bool = True) -> str:
    where = style.text(item.model or "(no model)")
    if config and item.config:
        where += " " + style.code(item.config)
    return where


def _configs(configs: Sequence[str], style: Style) -> str:
    named = ", ".join(style.code(c) if c else "(no configuration)" for c in configs[:MAX_CONFIGS_NAMED])
    more = len(configs) - MAX_CONFIGS_NAMED
    return named + (f" and {more} more" if more > 0 else "")


def _parts(item: NewsItem, style: Style, baseline: str | None) -> list[str]:
    kind = item.kind
    base = f" in {style.code(baseline)}" if baseline else ""
    if kind in ("regression", "improvement") and item.series is not None:
        return [_where(item, style), f"{_metric(item.metric)} {change(item.series.verdict)}",
                _figures(item.series, style), _caveats(item.series)]
    if kind == "slow creep" and item.series is not None and item.series.verdict.trend is not None:
        return [_where(item, style), f"{_metric(item.metric)} {creep(item.series.verdict.trend)}"]
    if kind == "every request failed" and item.requests is not None:
        r = item.requests
        what = f"{r.failed} of {plural(r.total, 'request')}" + (f" ({item.note})" if item.note else "")
        return [_where(item, style), what, _reasons(item, style)]
    if kind == "failure rate up" and item.requests is not None and item.baseline_requests is not None:
        r, b = item.requests, item.baseline_requests
        return [_where(item, style),
                f"{r.failed} of {r.total} requests failed ({r.rate:.0%}; was {b.rate:.0%}{base})",
                _reasons(item, style)]
    if kind == "model gone":
        return [_where(item, style, config=False),
                f"measured{base} ({plural(len(item.configs), 'configuration')}), not in this archive"]
    if kind == "model new":
        return [_where(item, style, config=False),
                f"{plural(len(item.configs), 'configuration')}: nothing earlier to compare with"]
    if kind == "configuration gone":
        return [_where(item, style, config=False), f"{_configs(item.configs, style)} measured{base}, not now"]
    if kind == "configuration new":
        return [_where(item, style, config=False), f"{_configs(item.configs, style)}: nothing earlier to compare with"]
    if kind == "configuration changed" and item.diff is not None:
        dims = ", ".join(f"{style.code(k)} {style.text(a)} → {style.text(b)}" for k, a, b in item.diff.changed)
        return [_where(item, style, config=False), dims,
                f"{style.code(item.config)} is a different configuration: not compared"]
    if kind == "configuration key changed" and item.diff is not None:
        keys = [f"{style.code(k)} added (={style.text(v)})" for k, v in item.diff.added]
        keys += [f"{style.code(k)} removed (was {style.text(v)})" for k, v in item.diff.removed]
        n = len(item.configs)
        return [_where(item, style, config=False), ", ".join(keys),
                f"compared as the same {'configuration' if n == 1 else f'{n} configurations'} otherwise"]
    if kind == "unit changed":
        old, new = (style.text(u or "no unit") for u in item.units)
        what = (f"{_metric(item.metric)}: {old} → {new}, converted and compared" if item.converted
                else f"{_metric(item.metric)}: {old} → {new} cannot be converted: not compared")
        return [_where(item, style), what]
    if kind == "definition changed":
        old, new = (style.text(d) for d in item.definitions)
        return [_where(item, style), f"{_metric(item.metric)}: “{old}” → “{new}”: not compared"]
    if kind == "too few requests":
        if item.note:
            return [_where(item, style), style.text(item.note), "nothing to judge it by"]
        n = item.series.verdict.n_current + item.series.verdict.n_dropped if item.series else 0
        was = (f" (was {item.baseline_requests.total - item.baseline_requests.failed})"
               if item.baseline_requests else "")
        return [_where(item, style), f"{plural(n, 'usable request')}{was}",
                "judged with a wide interval: rerun to confirm"]
    return [_where(item, style)]


def _figures(s: SeriesResult, style: Style) -> str:
    v = s.verdict
    figures = f"{format_number(v.baseline, style='change')} → {format_number(v.current, style='change')}"
    if v.unit:
        figures += f" {style.text(v.unit)}"
    n = plural(v.n_current, "value" if s.aggregate else "request")
    return f"{figures} · {n} vs {plural(len(s.baseline_labels), 'earlier run')}"


def _caveats(s: SeriesResult) -> str:
    v = s.verdict
    out = []
    requests = v.n_current + v.n_dropped
    if s.aggregate:
        out.append("from the tool's own aggregates")
    elif s.few_requests and v.status == REGRESSION and v.earlier_cold_starts and not v.n_dropped:
        out.append(f"low confidence: {plural(requests, 'request')}, and this series had cold starts before "
                   "— one would look the same; rerun to confirm")
    elif s.few_requests:
        out.append(f"low confidence: {plural(requests, 'request')}, rerun to confirm")
    if v.n_dropped:
        out.append(f"{plural(v.n_dropped, 'cold start')} left out")
    if v.resets:
        out.append("judged against the level since its last accepted step")
    if v.rel_change is not None and (v.rel_change > 19 or v.rel_change < -0.95):
        out.append("more than 20× — check the units")
    return "; ".join(out)


def _reasons(item: NewsItem, style: Style) -> str:
    reasons = item.requests.reasons if item.requests else ()
    return f"mostly “{style.text(reasons[0][:120])}”" if reasons else ""


# --------------------------------------------------------------------------- headline


def headline(news: News, style: Style = MRKDWN, *, since: str = "since") -> str:
    """The one line at the top: the worst news and how many of each kind, or the green check."""
    base = style.code(news.baseline or "")
    if news.baseline is None:
        return f":new: {style.bold('Nothing earlier to compare with')}"
    worst = news.worst
    if worst is None:
        if not news.compared:
            return (f":grey_question: {style.bold('Nothing comparable')} {since} {base}: "
                    "no model, configuration and metric measured in both")
        return (f":white_check_mark: {style.bold('No significant change')} {since} {base} "
                f"({plural(news.compared, 'comparison')} within noise)")
    icon = KIND_ICON.get(worst.kind, LEVEL_ICON[worst.level])
    return f"{icon} {style.bold(short_title(worst, style))} {since} {base} — {tally(news)}"


def short_title(item: NewsItem, style: Style = MRKDWN) -> str:
    """``Critical regression: llama3.1:8b throughput −48%`` and the like."""
    who = style.text(item.model or "(no model)")
    if item.kind in ("regression", "improvement") and item.series is not None:
        v = item.series.verdict
        name = f"{v.severity.capitalize()} regression" if item.kind == "regression" else "Improvement"
        return f"{name}: {who} {_metric(item.metric)} {pct(v.rel_change)}"
    return f"{TITLE[item.kind]}: {who}"


def tally(news: News) -> str:
    """``2 regressions, 1 model gone``: configurations gone or new count one by one."""
    counts: dict[NewsKind, int] = {}
    for item in news.items:
        weight = len(item.configs) if item.kind in ("configuration gone", "configuration new") else 1
        counts[item.kind] = counts.get(item.kind, 0) + max(1, weight)
    return ", ".join(f"{counts[k]} {PLURAL[k][0] if counts[k] == 1 else PLURAL[k][1]}"
                     for k, _ in news.tally())


def fallback(news: News) -> str:
    """Plain text for notifications (escaped for mrkdwn: Slack parses ``text`` too)."""
    if news.baseline is None:
        return "nothing earlier to compare with"
    worst = news.worst
    if worst is None:
        return "no significant change" if news.compared else "nothing comparable"
    more = len(news.items) - 1
    text = short_title(worst, Style(text=lambda s: s, code=lambda s: s, bold=lambda s: s))
    return escape_mrkdwn(text + (f" (+{plural(more, 'more item')})" if more else ""))


def news_lines(news: News, *, limit: int) -> list[str]:
    """The mrkdwn lines of the first ``limit`` items, and how many more there are."""
    lines = [item_line(i, MRKDWN, baseline=news.baseline) for i in news.items[:limit]]
    if len(news.items) > limit:
        lines.append(f"… and {len(news.items) - limit} more in the report in the thread.")
    return lines


def context_line(news: News) -> str:
    """How it was judged (mrkdwn)."""
    k = len(news.history)
    against = ("one earlier archive: run-to-run noise is assumed, not measured" if k == 1
               else f"up to {k} earlier archives")
    flagged = {(i.model, i.config) for i in news.of_kind("too few requests")}
    thin = sum(s.few_requests and (s.model, s.config) not in flagged for s in news.series)
    note = (f" · {plural(thin, 'series', 'series')} with only 1–2 requests per run, as before: "
            "judged with wide intervals" if thin else "")
    return f"Judged against {against}{note} · {METHOD}"


# --------------------------------------------------------------------------- the message


def news_blocks(news: News, *, title: str, verdict: str, context: Sequence[str],
                fields: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Header, the verdict line, the news lines (within Slack's limits), optional fields, context."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": truncate(escape_plain(title), HEADER_TEXT_LIMIT)}},
        _section(verdict),
    ]
    lines = news_lines(news, limit=MAX_ITEMS_SHOWN)
    if lines:
        blocks += [_section(chunk) for chunk in split_text("\n".join(lines), SECTION_TEXT_LIMIT)]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks += [{"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(t, 3000)}]} for t in context]
    return blocks[:MAX_BLOCKS]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


# --------------------------------------------------------------------------- the report and JSON


def news_markdown(news: News, *, title_text: str) -> str:
    """The comparison report for the thread: every news line, then every judged series."""
    md = MARKDOWN
    out = [f"# {_md_line(title_text)}", "", headline(news, md), ""]
    if news.history:
        out += ["Earlier archives (oldest first): " + ", ".join(md.code(h) for h in news.history) + ".", ""]
    out += [f"Method: {METHOD}.", ""]
    if news.items:
        out += ["## News, worst first", ""] + [f"- {item_line(i, md, baseline=news.baseline)}" for i in news.items]
        out.append("")
    if news.series:
        out += ["## Every series compared", "",
                "| Model | Configuration | Metric | Verdict | Change (90 % interval) | Before → now "
                "| Requests | Earlier runs |",
                "|---|---|---|---|---|---|---|---|"]
        for s in news.series:
            v = s.verdict
            verdict = v.status + (f", {v.severity}" if v.status in (REGRESSION, IMPROVEMENT) else "")
            if v.trend is not None and v.trend.is_alert:
                verdict += f"; trend {pct(v.trend.per_run)}/run"
            if v.low_confidence:
                verdict += "; low confidence"
            before_now = (f"{format_number(v.baseline, style='change')} → "
                          f"{format_number(v.current, style='change')} {_cell(v.unit or '')}").strip()
            out.append(f"| {_cell(s.model)} | {_cell(s.config)} | {_metric(s.metric)} | {verdict} | "
                       f"{change(v) if v.rel_change is not None else 'n/a'} | {before_now} | "
                       f"{v.n_current}{f' (+{v.n_dropped} cold)' if v.n_dropped else ''} | {len(s.baseline_labels)} |")
        out.append("")
    # as the analysis report's last step: no bidirectional controls, credentials or lone surrogates
    return untrusted("\n".join(out))


def _cell(text: str) -> str:
    return _md_line(text).replace("|", "\\|")[:300]


def news_json(news: News) -> dict[str, Any]:
    """The JSON document (stable contract; keys are only added): see README, "Digests"."""
    plain = Style(text=lambda s: s, code=lambda s: f"`{s}`", bold=lambda s: s)
    items = []
    for item in news.items:
        entry: dict[str, Any] = {"kind": item.kind, "level": item.level, "model": item.model,
                                 "config": item.config, "metric": item.metric,
                                 "text": item_line(item, plain, baseline=news.baseline).split(" ", 1)[1]}
        if item.requests is not None:
            entry["requests"] = {"total": item.requests.total, "failed": item.requests.failed,
                                 "reasons": list(item.requests.reasons)}
        if item.baseline_requests is not None:
            entry["baseline_requests"] = {"total": item.baseline_requests.total,
                                          "failed": item.baseline_requests.failed}
        if item.configs:
            entry["configs"] = list(item.configs)
        if item.diff is not None:
            entry["dimensions"] = {"added": dict(item.diff.added), "removed": dict(item.diff.removed),
                                   "changed": {k: [a, b] for k, a, b in item.diff.changed}}
            entry["previous_config"] = item.previous_config
        if item.kind == "unit changed":
            entry["units"] = list(item.units)
            entry["converted"] = item.converted
        if item.kind == "definition changed":
            entry["definitions"] = list(item.definitions)
        items.append(entry)
    return strict_json({
        "current": news.current, "baseline": news.baseline, "history": list(news.history),
        "worst": news.worst.level if news.worst else None, "compared": news.compared,
        "items": items, "series": [_series_json(s) for s in news.series],
    })


def _series_json(s: SeriesResult) -> dict[str, Any]:
    v = s.verdict
    trend = None
    if v.trend is not None:
        t = v.trend
        trend = {"status": t.status, "per_run": t.per_run, "per_run_interval": list(t.per_run_interval),
                 "total": t.total, "runs": t.runs}
    return {"model": s.model, "config": s.config, "metric": s.metric, "unit": v.unit, "status": v.status,
            "severity": v.severity, "severity_max": v.severity_max, "rel_change": v.rel_change,
            "interval": list(v.interval) if v.interval else None, "baseline": v.baseline, "current": v.current,
            "n_current": v.n_current, "n_dropped": v.n_dropped, "baseline_runs": list(s.baseline_labels),
            "low_confidence": v.low_confidence, "trend": trend, "reason": v.reason}
