"""Tests of `bot.render`: Slack text and blocks, charts, answers and digest messages."""
