"""Slack text (`bot.render.slack_text`): escaping that neutralises mentions and links, splitting that
keeps to Slack's limits without cutting words or entities."""

from __future__ import annotations

from bot.render.slack_text import escape_mrkdwn, split_escaped, split_text


def test_escape_neutralises_mentions_links_and_broadcasts():
    text = escape_mrkdwn("<!channel> <@U1> <!subteam^S1|x> <http://e.vil|ok> @here a&b @everyone")
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "a&amp;b" in text
    assert "@here" not in text and "@everyone" not in text and "@\u200bhere" in text


def test_split_text_respects_limit_and_keeps_words():
    text = "\n\n".join("word " * 300 for _ in range(5))
    chunks = split_text(text, 1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    assert split_text("x" * 2500, 1000) == ["x" * 1000, "x" * 1000, "x" * 500]
    assert split_text("short", 10) == ["short"]


def test_split_escaped_never_exceeds_limit_or_cuts_entities():
    chunks = split_escaped("<>&" * 3000, 3000)
    assert all(len(c) <= 3000 for c in chunks)
    joined = "".join(chunks)
    assert joined == escape_mrkdwn("<>&" * 3000)
