"""`/chimera` command parsing (`handlers.commands.parse_command`), without Slack. The command over
real HTTP is in tests/slack/."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from handlers.commands import Command, parse_command


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
