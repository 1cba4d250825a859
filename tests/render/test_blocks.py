"""The summary message's Block Kit blocks (`bot.render.blocks`): within Slack's limits, n/a without data."""

from __future__ import annotations

from bot.render.blocks import MAX_BLOCKS, summary_blocks
from bot.render.headline import Headline
from bot.render.slack_text import SECTION_TEXT_LIMIT
from tests.factories import run_result


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


def test_a_rejected_narrative_is_called_not_used_not_counted():
    headline = Headline(ungrounded_numbers=9, narrative_rejected=True)
    fields = [f["text"] for f in summary_blocks(archive_name="a", headline=headline, narrative="")[1]["fields"]]
    assert fields[-1] == "*Model's summary*\n*not used*\nfailed the quality gate; in the report's appendix"
    assert Headline.from_json(headline.to_json()) == headline


def test_summary_blocks_without_data_say_na():
    headline = Headline(skipped_files=2, ungrounded_numbers=3)
    fields = " ".join(f["text"] for f in summary_blocks(archive_name="a", headline=headline, narrative="")[1]["fields"])
    assert fields.count("*n/a*") == 2 and "*3*" in fields and ":warning:" in fields
