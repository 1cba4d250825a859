"""Pure parts of the Slack layer: escaping, splitting, blocks, command parsing, throttle, chart."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.flows.progress import Throttle
from bot.flows.services import SeenEvents
from bot.render.blocks import MAX_BLOCKS, summary_blocks
from bot.render.charts import throughput_ttft_png
from bot.render.headline import Headline
from bot.render.slack_text import SECTION_TEXT_LIMIT, escape_mrkdwn, split_escaped, split_text
from handlers.commands import Command, parse_command
from tests.factories import run_result
from tests.slack_support import StepClock


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


def test_summary_blocks_stay_within_slack_limits_for_huge_narratives():
    result = run_result("a.tar.gz")
    narrative = ("A long paragraph about throughput. " * 100 + "\n\n") * 60  # ~210k chars
    blocks = summary_blocks(archive_name="x" * 400, headline=result.headline, narrative=narrative,
                            note="<!here> ollama down", footer="footer")
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
        for f in block.get("fields", []):
            assert len(f["text"]) <= 2000
    assert "shortened" in str(blocks) and "<!here>" not in str(blocks)
    assert len(blocks[1]["fields"]) == 5


def test_summary_blocks_without_data_say_na():
    headline = Headline(skipped_files=2, ungrounded_numbers=3)
    fields = " ".join(f["text"] for f in summary_blocks(archive_name="a", headline=headline, narrative="")[1]["fields"])
    assert fields.count("*n/a*") == 2 and "*3*" in fields and ":warning:" in fields


@pytest.mark.parametrize("text,expected", [
    ("", Command("help")),
    ("help", Command("help")),
    ("status", Command("status")),
    ("analyze nightly/a.tar.gz", Command("analyze", "nightly/a.tar.gz", True)),
    ("analyze --no-llm 'with space.tgz'", Command("analyze", "with space.tgz", False)),
])
def test_parse_command(text, expected):
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ["analyze", "analyze a b", "analyze a --x", "frobnicate", "analyze 'open",
                                  "analyze " + "a" * 400, "status now"])
def test_parse_command_rejects(text):
    with pytest.raises(UsageError):
        parse_command(text)


def test_throttle_and_seen_events():
    throttle = Throttle(interval_s=1.0, clock=StepClock(0.5))
    assert [throttle.ready() for _ in range(6)] == [True, False, True, False, True, False]
    seen = SeenEvents(capacity=2, ttl_s=100, clock=StepClock(1.0))
    assert seen.first_time("a") and not seen.first_time("a")
    assert seen.first_time("b") and seen.first_time("c")
    assert seen.first_time("a")  # forgotten: capacity 2
    seen.forget("a")  # not handled after all (the database was down): a redelivery is new
    assert seen.first_time("a")


def test_chart_png():
    png = throughput_ttft_png(run_result("a").data["models"], title="a")
    assert png is not None and png.startswith(b"\x89PNG")
    assert throughput_ttft_png([{"model": "x", "throughput_tok_s": {"median": None}}]) is None
