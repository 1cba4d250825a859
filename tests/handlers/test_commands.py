"""`/chimera` command parsing (`handlers.commands.parse_command`), without Slack. The command over
real HTTP is in tests/slack/."""

from __future__ import annotations

import re

import pytest

from bot.errors import UsageError
from bot.flows.compare import Comparison
from handlers.commands import SUBCOMMANDS, USAGE, Command, parse_command
from tests.paths import REPO_ROOT


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


@pytest.mark.parametrize("text,comparison", [
    ("compare nightly/a.tgz nightly/b.tgz", Comparison("nightly/a.tgz", "nightly/b.tgz")),
    ("compare 'a b.tgz' c", Comparison("a b.tgz", "c")),
    ("compare nightly/a num_ctx=2048 num_ctx=4096",
     Comparison("nightly/a", "nightly/a", ("num_ctx=2048", "num_ctx=4096"))),
    ("COMPARE x temperature=0.70,num_gpu=99 temperature=0.2,num_gpu=99",
     Comparison("x", "x", ("temperature=0.70,num_gpu=99", "temperature=0.2,num_gpu=99"))),
])
def test_parse_compare(text, comparison):
    assert parse_command(text) == Command("compare", comparison=comparison)


def test_compare_labels_name_the_configurations_canonically():
    c = parse_command("compare x temperature=0.70,num_gpu=99 temperature=0.2,num_gpu=99").comparison
    assert c.labels == ("x [num_gpu=99,temperature=0.7]", "x [num_gpu=99,temperature=0.2]")
    assert parse_command("compare a b").comparison.labels == ("a", "b")


@pytest.mark.parametrize("text,says", [
    ("compare", "give two archive names"),
    ("compare a", "give two archive names"),
    ("compare a b c", "give two archive names"),
    ("compare a b num_ctx=1", "give two archive names"),
    ("compare a num_ctx=1", "give two archive names"),
    ("compare a b --no-llm", "unknown option"),
    ("compare a =1 num_ctx=2", "is not key=value"),
    ("compare a num_ctx=1, num_ctx=2", "is not key=value"),
    ("compare " + "a" * 400 + " b", "too long"),
])
def test_parse_compare_rejects(text, says):
    with pytest.raises(UsageError, match=says):
        parse_command(text)


def test_help_and_the_manifest_list_every_subcommand():
    """The manifest's usage hint once omitted `digest`; now both name every subcommand."""
    manifest = (REPO_ROOT / "manifest.yml").read_text(encoding="utf-8")
    hint = re.search(r"^\s*usage_hint:\s*(.+)$", manifest, re.MULTILINE).group(1)
    for sub in SUBCOMMANDS:
        assert re.search(rf"(^|\| ){sub}\b", hint), (sub, hint)
        assert f"/chimera {sub}" in USAGE, sub
    assert len(hint) <= 1000  # Slack's limit for a usage hint
