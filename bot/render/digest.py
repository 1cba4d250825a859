"""The digest message (Block Kit) and the digest's one-line notices (pure).

Archive, model and config names are untrusted: escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import bot
from bot.core.archives import archive_order
from bot.core.news import News
from bot.core.records import Subscription
from bot.render.blocks import headline_fields
from bot.render.headline import Headline
from bot.render.news import context_line, news_blocks
from bot.render.news import fallback as news_fallback
from bot.render.news import headline as news_headline
from bot.render.slack_text import escape_mrkdwn

MAX_SKIPPED_NAMED = 3


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
    """The digest message (Block Kit): the news of ``archive`` since the previous digest, worst
    first (`bot.render.news`). Archive, model and config names are untrusted: escaped."""

    subscription: Subscription
    archive: str
    news: News  # ``news.baseline`` None: the subscription's first digest
    superseded: Sequence[str] = ()
    headline: Headline | None = None
    note: str = ""

    @property
    def baseline(self) -> str | None:
        return self.news.baseline

    def verdict(self) -> str:
        """One mrkdwn line: the worst news, or "no significant change" when that is the truth."""
        if self.baseline is None:
            return (":new: First digest of this subscription: nothing earlier to compare with. "
                    "The next digest is compared with this archive.")
        return news_headline(self.news)

    def fallback_text(self) -> str:
        if self.baseline is None:
            return escape_mrkdwn(f"Digest of {self.archive}: first digest, nothing to compare with")
        return escape_mrkdwn(f"Digest of {self.archive}: ") + news_fallback(self.news)

    def blocks(self) -> list[dict[str, Any]]:
        context = []
        if self.superseded:
            named = ", ".join(f"`{escape_mrkdwn(n)}`" for n in self.superseded[-MAX_SKIPPED_NAMED:])
            more = len(self.superseded) - MAX_SKIPPED_NAMED
            context.append(f"Also new, not digested separately: {named}"
                           + (f" and {more} older" if more > 0 else "") + ".")
        if self.note:
            context.append(":information_source: " + escape_mrkdwn(self.note))
        sub = self.subscription
        footer = (f"Digest #{sub.id} · {escape_mrkdwn(sub.schedule)} ({escape_mrkdwn(sub.timezone)}) "
                  f"· `{escape_mrkdwn(sub.prefix)}` · full report in the thread · Chimera Insight {bot.__version__}")
        if self.baseline is not None:
            footer = context_line(self.news) + "\n" + footer
        context.append(footer)
        return news_blocks(self.news, title=f"Digest: {self.archive}", verdict=self.verdict(),
                           fields=headline_fields(self.headline) if self.headline else None, context=context)
