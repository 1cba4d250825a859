"""Defects found in review of the Slack layer, each shown over real HTTP through Bolt, slack_sdk
and the Web API stand-in (the analysis seam scripted where the pipeline itself is not the point)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bot.errors import UnsafeArchive
from tests.factories import run_result
from tests.slack_support import ScriptedRun, http_bot, upload_done
from tests.standins.slack_api import BOT_USER_ID


@pytest.mark.parametrize("number", ["²", "٣", "１"])
def test_digest_remove_with_a_unicode_digit_is_answered_not_crashed(standin, tmp_path, number):
    # str.isdigit() is true for "²" but int("²") raises: the listener used to die before ack().
    (tmp_path / "storage").mkdir()
    with http_bot(standin, ScriptedRun(), database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                  storage_roots=[str(tmp_path / "storage")]) as bot_:
        bot_.command("digest add daily 09:00 nightly")
        status, body, _ = bot_.command(f"digest remove {number}")
        assert status == 200
        assert "Give the digest's number" in body
        assert len(bot_.services.store.subscriptions.list_subscriptions()) == 1


def test_archive_error_quoting_file_contents_reaches_the_user_escaped(standin):
    # UnsafeArchive quotes member names from inside the archive: untrusted text.
    run = ScriptedRun()
    run.error = UnsafeArchive("Refusing 'a.tar.gz': member '<https://evil.example|re-login> <!channel>' "
                              "escapes the extraction folder.")
    with http_bot(standin, run) as bot_:
        bot_.command("analyze a.tar.gz")
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    said = json.dumps([c.params for c in standin.calls if c.method in ("respond", "chat.update")])
    assert "Refusing" in said
    assert "<https://evil" not in said and "<!channel>" not in said


class LateProgressRun(ScriptedRun):
    """Reports progress only after ``release``: like a narrative still streaming tokens when the
    bot shuts down."""

    def __init__(self) -> None:
        super().__init__()
        self.finished = threading.Event()

    def run(self, target, *, use_llm=True, allow_local_paths=False, progress=None):
        self.calls.append({"target": target})
        self.started.set()
        self.release.wait(10)
        if progress:
            progress("writing summary (40 tokens)")
        self.finished.set()
        return run_result(target)


def test_a_job_handed_back_at_shutdown_never_edits_or_delivers_afterwards(standin, tmp_path):
    run = LateProgressRun()
    run.release.clear()
    with http_bot(standin, run, workers=1, database_url=f"sqlite:///{tmp_path / 'bot.db'}") as bot_:
        bot_.command("analyze a.tar.gz")
        assert run.started.wait(5)
        runner = bot_.services.runner
        runner.shutdown(grace_s=0.1)  # the job is still running: it is handed back to the queue
        handed_back = standin.wait_for(lambda calls: any("will continue" in c.params.get("text", "")
                                                         for c in calls if c.method == "chat.update"))
        run.release.set()  # the worker thread lives on for a moment and finishes its work
        assert run.finished.wait(5)
        for _ in range(250):  # until the worker has returned its slot (no sleep-and-hope: a bounded poll)
            if runner.status().busy["analysis"] == 0:
                break
            time.sleep(0.02)
        assert runner.status().busy["analysis"] == 0
        stored, task = bot_.services.store.runs.get_run(1), bot_.services.store.tasks.get(1)
    after = standin.calls[len(handed_back):]
    assert [c.method for c in after if c.method.startswith(("chat.", "files."))] == []
    assert "will continue" in standin.of("chat.update")[-1].params["text"]  # the parent says what happens
    assert stored.status == "running" and task.state == "queued"  # the next replica resumes it


def test_a_dm_that_mentions_the_bot_is_still_a_command(standin):
    # Slack sends no app_mention for a DM, so "@Chimera analyze x" there arrives as a plain message.
    dm = {"type": "message", "channel": "D0001", "channel_type": "im", "user": "U0001",
          "ts": "1700000003.000001", "text": f"<@{BOT_USER_ID}> analyze a.tar.gz --no-llm"}
    run = ScriptedRun()
    with http_bot(standin, run) as bot_:
        assert bot_.event(dm, event_id="EvDM1")[0] == 200
        standin.wait_for(upload_done)
    assert run.calls == [{"target": "a.tar.gz", "use_llm": False, "allow_local_paths": False}]
    assert "don't know" not in json.dumps([c.params for c in standin.calls])
