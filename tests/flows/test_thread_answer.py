"""Pieces of the thread-answer flow (`bot.flows.thread_answer`) that need no Slack: the thread's
history as the prompt sees it. The whole flow over Slack is in tests/slack/test_slack_followup.py."""

from __future__ import annotations

from bot.core.prompts.answer import ThreadMessage
from bot.flows.thread_answer import history_from_replies


def test_thread_history_from_replies() -> None:
    replies = [
        {"ts": "1.0", "user": "UBOT", "bot_id": "B1", "text": "Summary of <https://x.example|nightly>"},
        {"ts": "2.0", "user": "U2", "text": "why is <@U9> slow?"},
        {"ts": "3.0", "user": "U2", "text": "the question being answered"},
        {"ts": "4.0", "user": "U3", "text": "   "},
    ]
    replies.append({"ts": "5.0", "user": "UOTHER", "bot_id": "B2", "text": "another bot's words"})
    history = history_from_replies(replies, bot_user_id="UBOT", skip_ts={"3.0"})
    # the bot's own (and any bot's) messages are never fed back: they were a model's unverified text
    assert history == [ThreadMessage("person", "why is @U9 slow?")]
