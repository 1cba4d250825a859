"""Tests of `handlers` that need no Slack: command parsing. The listeners over HTTP are in tests/slack/."""
