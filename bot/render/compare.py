"""The ``/chimera compare`` message: posted like a digest (pure). Archive and configuration names
are untrusted: escaped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import bot
from bot.core.news import News
from bot.render.news import context_line, news_blocks
from bot.render.news import fallback as news_fallback
from bot.render.news import headline as news_headline
from bot.render.slack_text import escape_mrkdwn

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _who(user: str) -> str:
    return f"<@{user}>" if _USER_ID.match(user) else "someone"


def comparing_text(baseline: str, current: str, *, user: str) -> str:
    """The placeholder while the archives are analyzed."""
    return (f":hourglass_flowing_sand: {_who(user)} asked to compare `{escape_mrkdwn(current)}` "
            f"with `{escape_mrkdwn(baseline)}` — analyzing…")


def failed_text(baseline: str, current: str, *, reason: str) -> str:
    """The placeholder of a comparison that failed (``reason`` is already mrkdwn)."""
    return f":x: Comparing `{escape_mrkdwn(current)}` with `{escape_mrkdwn(baseline)}` failed: {reason}"


@dataclass(frozen=True)
class CompareView:
    """The comparison of ``current`` (B) against ``baseline`` (A), worst news first."""

    news: News
    baseline: str
    current: str
    user: str = ""

    def fallback_text(self) -> str:
        return escape_mrkdwn(f"Comparison of {self.current} with {self.baseline}: ") + news_fallback(self.news)

    def blocks(self) -> list[dict[str, Any]]:
        footer = (f"`/chimera compare` by {_who(self.user)} · the news report is in the thread · "
                  f"Chimera Insight {bot.__version__}")
        return news_blocks(self.news, title=f"Compare: {self.current} vs {self.baseline}",
                           verdict=news_headline(self.news, since="compared with"),
                           context=[context_line(self.news), footer])
