"""Pieces of the thread-answer flow (`bot.flows.thread_answer`) that need no Slack: the thread's
history as the prompt sees it. The whole flow over Slack is in tests/slack/test_slack_followup.py."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.prompts.answer import ThreadMessage
from bot.core.records import Run
from bot.flows.thread_answer import _no_data, history_from_replies


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


def _run(status: str, error: str | None = None) -> Run:
    return Run(id=1, run_key=None, archive="nightly/<b>.tar.gz", trigger="slash", channel="C1", thread_ts=None,
               parent_ts="1.0", user="U1", status=status, error=error,  # type: ignore[arg-type]
               created_at=datetime(2026, 11, 30, tzinfo=UTC), finished_at=None, facts=None, timings=None,
               summary=None, report_md=None)


def test_a_thread_without_data_says_why_and_what_to_do() -> None:
    assert _no_data(None) == ("I no longer have the data of this report. Run the analysis again, then ask in "
                              "its thread.")
    for status in ("queued", "running"):
        assert _no_data(_run(status)).startswith("This analysis is still running. Ask again once the summary")
    interrupted = _no_data(_run("failed", "interrupted: the bot restarted <twice>"))
    assert interrupted == ("This analysis was interrupted (interrupted: the bot restarted &lt;twice&gt;), so there "
                           "is no data to answer from. Run `/chimera analyze nightly/&lt;b&gt;.tar.gz` again, then "
                           "ask in the new report's thread.")
    assert _no_data(_run("failed", "No archive named x")) == (
        "This analysis did not finish, so there is no data to answer from. Run it again with "
        "`/chimera analyze nightly/&lt;b&gt;.tar.gz`, then ask in the new report's thread.")
