"""A summary that Slack keeps refusing never leaves the message "starting…" (issue 12, item 6).

Attack: every `chat.update` that carries the summary blocks fails (Slack's ``internal_error``,
or content Slack refuses). Expected: the edit is retried after the documented delays (an injected
sleep records them, nothing waits), then a short final text replaces the placeholder; a refusal
of the content goes straight to the short text; only when even that fails is the user told.
"""

from __future__ import annotations

from bot.flows.deliver import RETRY_DELAYS_S
from tests.slack_support import ScriptedRun, http_bot, upload_done


def with_blocks(params: dict) -> bool:
    return "blocks" in params


def run_with_failing_summary(standin, *, error: str, times: int) -> tuple[list[float], list]:
    sleeps: list[float] = []
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.services.sleep = sleeps.append
        standin.fail("chat.update", error, times=times, when=with_blocks)
        assert bot_.command("analyze a.tar.gz")[0] == 200
        standin.wait_for(upload_done)
    return sleeps, standin.of("chat.update")


def test_a_summary_edit_that_keeps_failing_is_replaced_by_a_short_final_text(standin):
    sleeps, updates = run_with_failing_summary(standin, error="internal_error", times=100)
    assert sleeps == list(RETRY_DELAYS_S)
    with_summary = [u for u in updates if "blocks" in u.params]
    assert len(with_summary) == 1 + len(RETRY_DELAYS_S)
    final = updates[-1].params
    assert "blocks" not in final and "finished" in final["text"]
    assert "report is in this message's thread" in final["text"]
    assert "starting" not in final["text"] and "Analyzing" not in final["text"]
    assert not [c for c in standin.of("respond") if "couldn't post the summary" in c.params.get("text", "")]


def test_a_summary_edit_that_fails_twice_goes_out_on_the_third_try(standin):
    sleeps, updates = run_with_failing_summary(standin, error="internal_error", times=2)
    assert sleeps == list(RETRY_DELAYS_S)
    assert "blocks" in updates[-1].params  # the full summary, not the short text


def test_content_slack_refuses_goes_straight_to_the_short_text(standin):
    sleeps, updates = run_with_failing_summary(standin, error="invalid_blocks", times=100)
    assert sleeps == []
    assert "blocks" not in updates[-1].params and "finished" in updates[-1].params["text"]


def test_when_even_the_short_text_fails_the_user_is_told(standin):
    sleeps: list[float] = []
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.services.sleep = sleeps.append
        standin.fail("chat.update", "internal_error", times=100,
                     when=lambda params: "blocks" in params or "finished" in params.get("text", ""))
        assert bot_.command("analyze a.tar.gz")[0] == 200
        standin.wait_for(lambda calls: any(
            c.method == "respond" and "couldn't post the summary" in c.params.get("text", "") for c in calls))
        standin.wait_for(upload_done)  # the report still goes in the thread
    assert sleeps == list(RETRY_DELAYS_S) * 2
