"""The digest message (Block Kit) and the digest's one-line notices (pure).

Archive, model and config names are untrusted: escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import bot
from bot.core.archives import archive_order
from bot.core.numbers import format_number
from bot.core.records import Subscription
from bot.core.regression_mw import (
    IMPROVEMENT,
    METHOD_MW,
    METHOD_MW_Z,
    METRIC_RULES,
    REGRESSION,
    Change,
    plural,
)
from bot.core.text import truncate
from bot.render.blocks import MAX_BLOCKS, headline_fields
from bot.render.headline import Headline
from bot.render.slack_text import HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT, escape_mrkdwn, escape_plain, split_text

MAX_REGRESSIONS_SHOWN = 8
MAX_IMPROVEMENTS_SHOWN = 5
MAX_SKIPPED_NAMED = 3

_SEVERITY_ICON = {"critical": ":red_circle:", "major": ":large_orange_circle:",
                  "minor": ":large_yellow_circle:"}


def nothing_new_text(subscription: Subscription, digested: Iterable[str]) -> str:
    last = max(digested, key=archive_order, default=None)
    prefix = escape_mrkdwn(subscription.prefix)
    if last is None:
        return f":zzz: No archives under `{prefix}` yet (digest #{subscription.id})."
    return (f":zzz: Nothing new under `{prefix}` since `{escape_mrkdwn(last)}` "
            f"(digest #{subscription.id}).")


def failure_text(subscription: Subscription, reason: str, *, archive: str | None) -> str:
    """The channel notice of a digest that failed."""
    what = f"of `{escape_mrkdwn(archive)}`" if archive else f"for `{escape_mrkdwn(subscription.prefix)}`"
    text = (f":x: The scheduled digest {what} (digest #{subscription.id}) failed: "
            f"{escape_mrkdwn(reason)}")
    if archive:
        text += (f" It is not retried automatically; `/chimera analyze {escape_mrkdwn(archive)}` "
                 "runs it by hand.")
    return text


@dataclass(frozen=True)
class DigestView:
    """The digest message (Block Kit). Archive, model and config names are untrusted: escaped."""

    subscription: Subscription
    archive: str
    baseline: str | None
    changes: Sequence[Change]
    history_size: int = 0
    superseded: Sequence[str] = ()
    headline: Headline | None = None
    note: str = ""

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.is_alert and c.direction == REGRESSION]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if c.is_alert and c.direction == IMPROVEMENT]

    def verdict(self) -> str:
        """One mrkdwn line: the news, or "no significant change" when that is the truth."""
        if self.baseline is None:
            return (":new: First digest of this subscription: nothing earlier to compare with. "
                    "The next digest is compared with this archive.")
        base = f"`{escape_mrkdwn(self.baseline)}`"
        compared = [c for c in self.changes if c.method in (METHOD_MW, METHOD_MW_Z)]
        unclear = len(self.changes) - len(compared)
        unclear_note = f"; {unclear} without enough comparable data" if unclear else ""
        if not compared:
            return (f":grey_question: Not enough comparable data to compare with {base} "
                    f"({len(self.changes)} model/config/metric combinations).")
        regressions, improvements = len(self.regressions), len(self.improvements)
        if not regressions and not improvements:
            return (f":white_check_mark: *No significant change* since {base} "
                    f"({len(compared)} comparisons within noise{unclear_note}).")
        icon = ":warning:" if regressions else ":chart_with_upwards_trend:"
        return (f"{icon} *{plural(regressions, 'regression')}*, {plural(improvements, 'improvement')} "
                f"since {base} ({len(compared)} comparisons{unclear_note}).")

    def fallback_text(self) -> str:
        text = f"Digest of {self.archive}: "
        if self.baseline is None:
            text += "first digest, nothing to compare with"
        elif self.regressions:
            worst = self.regressions[0]
            text += (f"{plural(len(self.regressions), 'regression')}, worst: {worst.severity} "
                     f"{worst.model} {METRIC_RULES[worst.metric].label} {_pct(worst.rel_change)}")
        elif self.improvements:
            text += f"{plural(len(self.improvements), 'improvement')}, no regressions"
        else:
            text += "no significant change"
        return escape_mrkdwn(text)

    def blocks(self) -> list[dict[str, Any]]:
        title = f"Digest: {self.archive}"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                        "text": truncate(escape_plain(title), HEADER_TEXT_LIMIT)}},
            _section(self.verdict()),
        ]
        for label, items, limit in (("Regressions", self.regressions, MAX_REGRESSIONS_SHOWN),
                                    ("Improvements", self.improvements, MAX_IMPROVEMENTS_SHOWN)):
            if not items:
                continue
            lines = [f"*{label}*"] + [change_line(c) for c in items[:limit]]
            if len(items) > limit:
                lines.append(f"… and {len(items) - limit} more in the report thread.")
            blocks += [_section(chunk) for chunk in split_text("\n".join(lines), SECTION_TEXT_LIMIT)]
        if self.headline:
            blocks.append({"type": "section", "fields": headline_fields(self.headline)})
        context = []
        if self.superseded:
            named = ", ".join(f"`{escape_mrkdwn(n)}`" for n in self.superseded[-MAX_SKIPPED_NAMED:])
            more = len(self.superseded) - MAX_SKIPPED_NAMED
            context.append(f"Also new, not digested separately: {named}"
                           + (f" and {more} older" if more > 0 else "") + ".")
        if self.note:
            context.append(":information_source: " + escape_mrkdwn(self.note))
        method = "Mann-Whitney U (p < 0.01) and a minimum change per metric"
        if self.history_size >= 3:
            method += f", checked against the last {self.history_size} digests' noise"
        sub = self.subscription
        context.append(f"Digest #{sub.id} · {escape_mrkdwn(sub.schedule)} ({escape_mrkdwn(sub.timezone)}) "
                       f"· `{escape_mrkdwn(sub.prefix)}` · {method} · full report in the thread · "
                       f"Chimera Insight {bot.__version__}")
        blocks += [{"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(t, 3000)}]}
                   for t in context]
        return blocks[:MAX_BLOCKS]


def change_line(change: Change) -> str:
    """``:large_orange_circle: *MAJOR regression* · model `config` · throughput −20.1% (…)``."""
    rule = METRIC_RULES[change.metric]
    icon = _SEVERITY_ICON.get(change.severity, "") if change.direction == REGRESSION \
        else ":large_green_circle:"
    where = escape_mrkdwn(change.model or "(no model)")
    if change.config:
        where += f" `{escape_mrkdwn(change.config).replace('`', chr(39))}`"
    p = f"p={change.p_value:.1g}" if change.p_value is not None else "p=n/a"
    z = f", z={change.z_score:+.1f}" if change.z_score is not None else ""
    return (f"{icon} *{change.severity.upper()} {change.direction}* · {where} · {rule.label} "
            f"{_pct(change.rel_change)} ({format_number(change.baseline_median, style='change')} → "
            f"{format_number(change.current_median, style='change')} "
            f"{rule.unit} median; {p}{z}, n={change.n_baseline}/{change.n_current})")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}".replace("-", "−")
