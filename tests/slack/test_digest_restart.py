"""A `/chimera digest` command the bot took but had not carried out when it was stopped (SIGTERM):
the requester, told "I'll answer here", is told through the command's response URL that the bot
restarted and to run it again — never left waiting for an answer that will not come."""

from __future__ import annotations

import threading

from bot.app import SIDE_WORKERS
from handlers.digest import BUSY_ACK, DIGEST_NOT_DONE
from tests.slack_support import ScriptedRun, http_bot
from tests.standins.slack_api import SlackApiStandin


def test_a_queued_digest_command_is_told_to_run_again_when_the_bot_stops(standin: SlackApiStandin,
                                                                         database_url: str) -> None:
    busy = threading.Event()
    try:
        with http_bot(standin, ScriptedRun(), database_url=database_url) as bot_:
            side = bot_.services.side
            assert side is not None
            for _ in range(SIDE_WORKERS):  # every side worker is busy: the command waits in line
                side.submit("busy", busy.wait, on_cancel=lambda _message: None)
            status, body, _ = bot_.command("digest list", name="digest")
            assert status == 200 and body == BUSY_ACK
        # the bot stopped with the command still in line
        calls = standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    finally:
        busy.set()
    answers = [c.params.get("text") for c in calls if c.method == "respond"]
    assert answers == [DIGEST_NOT_DONE]
