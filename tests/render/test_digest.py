"""The digest message (`bot.render.digest.DigestView`): archive, model and config text escaped."""

from __future__ import annotations

from datetime import UTC

from bot.core.news import News, NewsItem, SeriesResult
from bot.core.regression import REGRESSION, Verdict
from bot.render.digest import DigestView


def test_the_message_escapes_archive_model_and_config_text():
    from datetime import datetime

    from bot.core.records import Subscription

    sub = Subscription(1, "C1", "daily 09:00", {}, "UTC", "night<ly>", False, None,
                       datetime.now(UTC), True)
    verdict = Verdict(REGRESSION, -0.3, (-0.35, -0.25), "minor", "critical", 100.0, 70.0, "tok/<s>",
                      n_current=30, baseline_runs=(0,))
    evil = SeriesResult("<!channel> m", "ctx=`1` <@U1>", "throughput_tok_s", verdict, ("<http://x|y>",), 1)
    news = News("nightly/<!here>", "<http://x|y>", ("<http://x|y>",),
                (NewsItem("regression", "critical", evil.model, evil.config, evil.metric, series=evil),), (evil,))
    view = DigestView(subscription=sub, archive="nightly/<!here>", news=news)
    text = "\n".join(message_text_of(view))
    assert "<!channel>" not in text and "<!here>" not in text and "<@U1>" not in text
    assert "<http" not in text and "&lt;!channel&gt;" in text
    assert "`1`" not in text  # a backtick in a config cannot end the code span early


def message_text_of(view: DigestView) -> list[str]:
    out = [view.fallback_text()]
    for block in view.blocks():
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", []) + block.get("fields", [])]
    return out
