"""End to end over real HTTP: signed requests into the bot (Bolt on waitress), every Slack call
recorded by the Web API stand-in."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest

import bot
from bot.errors import ArchiveNotFound
from tests.clocks import StepClock
from tests.factories import run_result
from tests.slack_support import ScriptedRun, http_bot, upload_done
from tests.standins.slack_api import BOT_ID, BOT_USER_ID


def test_analyze_acks_fast_then_posts_progress_summary_and_thread_files_in_order(standin):
    run = ScriptedRun()
    run.release.clear()  # hold the job open: the ack must not wait for it
    with http_bot(standin, run) as bot_:
        status, body, _ = bot_.command("analyze nightly/2025-11-14.tar.gz")
        # A 200 with the ack's text is an ack within Bolt's (and Slack's) 3 s; and it came back
        # while the job is held, so it did not wait for the analysis.
        assert status == 200
        assert "Analyzing `nightly/2025-11-14.tar.gz`" in body
        assert run.started.wait(5)
        assert not upload_done(standin.calls) and bot_.services.runner.status().busy["analysis"] == 1  # still held
        run.release.set()
        calls = standin.wait_for(upload_done)

    methods = [c.method for c in calls if c.method != "auth.test"]
    assert methods[0] == "chat.postMessage"
    assert methods.count("chat.postMessage") == 1  # ONE parent message
    parent_ts = standin.of("chat.postMessage")[0]  # the stand-in's answer is the first ts it issued
    updates = standin.of("chat.update")
    progress, summary = updates[:-1], updates[-1]
    assert [u.params["text"].rsplit("— ", 1)[1] for u in progress] == [
        "fetched", "3 files ingested", "analyzed", "writing summary"]
    assert all(u.params["ts"] == "1700000000.000100" for u in updates)
    blocks = summary.params["blocks"]
    assert blocks[0]["type"] == "header" and "nightly/2025-11-14.tar.gz" in blocks[0]["text"]["text"]
    fields = " ".join(f["text"] for f in blocks[1]["fields"])
    # the headline of the real analysis of tests.factories.SAMPLE_CSV, each figure with its fact id
    expected = run_result("nightly/2025-11-14.tar.gz")
    best = expected.headline.best_throughput
    assert best is not None and best.fact_id == "F3"
    assert "*290.1 tok/s*" in fields and "*150.0 / 400.0 ms*" in fields and "[F3]" in fields
    assert any("gemma3:270m is fastest" in b.get("text", {}).get("text", "") for b in blocks)
    # order: parent, progress edits, summary, then the uploads into the thread
    idx = {m: methods.index(m) for m in ("files.getUploadURLExternal", "upload")}
    assert methods.index("chat.postMessage") < idx["files.getUploadURLExternal"]
    last_update = max(i for i, m in enumerate(methods) if m == "chat.update")
    complete_at = methods.index("files.completeUploadExternal")
    assert last_update < idx["files.getUploadURLExternal"] < idx["upload"] < complete_at
    complete = standin.of("files.completeUploadExternal")[0].params
    assert complete["thread_ts"] == "1700000000.000100" and complete["channel_id"] == "C0001"
    titles = [f["title"] for f in json.loads(complete["files"])]
    assert len(titles) == 2 and titles[0].startswith("Report") and titles[1].startswith("Charts")
    uploads = standin.of("upload")
    # the report itself, but for the render times (the header's minute and the metrics footer):
    # the bot's render and this one may fall in different minutes
    assert _undated(uploads[0].body.decode()) == _undated(expected.report_md)
    assert uploads[1].body.startswith(b"\x89PNG")
    assert parent_ts.params["channel"] == "C0001"
    assert run.calls == [{"target": "nightly/2025-11-14.tar.gz", "use_llm": True, "allow_local_paths": False}]


def _undated(report_md: str) -> str:
    """The report above its metrics footer, with the header's render time (to the minute) masked."""
    body, stamps = re.subn(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<rendered> UTC", report_md.split("## Metrics")[0])
    assert stamps == 1, report_md[:300]
    return body


def test_progress_edits_are_throttled_to_one_per_interval(standin):
    run = ScriptedRun()
    with http_bot(standin, run, clock=StepClock(0.3)) as bot_:  # 4 steps within 1.2 "seconds"
        bot_.command("analyze a.tar.gz --no-llm")
        standin.wait_for(upload_done)
    updates = standin.of("chat.update")
    assert len(updates) - 1 <= 2  # at most one edit per second of clock, plus the summary
    assert run.calls[0]["use_llm"] is False


@pytest.mark.parametrize("kind", ["bad_signature", "stale_timestamp"])
def test_unverified_requests_get_401_and_start_no_work(standin, kind):
    run = ScriptedRun()
    with http_bot(standin, run) as bot_:
        if kind == "bad_signature":
            status, _, _ = bot_.command("analyze a.tar.gz", secret="not-the-secret")
        else:
            status, _, _ = bot_.command("analyze a.tar.gz", timestamp=int(time.time()) - 600)
        assert status == 401
        bot_.settle()  # anything the request had started would have finished by now
    assert run.calls == []
    assert "chat.postMessage" not in standin.methods()


def test_retried_event_delivery_posts_once(standin):
    mention = {"type": "app_mention", "user": "U0001", "text": f"<@{BOT_USER_ID}> help",
               "ts": "1700000001.000001", "channel": "C0001", "event_ts": "1700000001.000001"}
    with http_bot(standin, ScriptedRun()) as bot_:
        assert bot_.event(mention, event_id="Ev001")[0] == 200
        assert bot_.event(mention, event_id="Ev001", retry_num=1)[0] == 200
        assert bot_.event(mention, event_id="Ev001", retry_num=2)[0] == 200
        other = dict(mention, ts="1700000002.000001")
        bot_.event(other, event_id="Ev002")
        standin.wait_for(lambda calls: sum(c.method == "chat.postMessage" for c in calls) >= 2)
        bot_.settle()  # a (wrong) duplicate answer would have been posted by now
    posts = standin.of("chat.postMessage")
    assert [p.params["thread_ts"] for p in posts].count("1700000001.000001") == 1
    assert len(posts) == 2
    assert "@Chimera analyze" in posts[0].params["text"]


def test_own_edited_and_deleted_messages_are_ignored(standin):
    base = {"type": "message", "channel": "D0001", "channel_type": "im", "ts": "1700000003.000001"}
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.event(dict(base, user=BOT_USER_ID, bot_id=BOT_ID, text="help"), event_id="Ev010")
        bot_.event(dict(base, subtype="message_changed", message={"text": "help", "user": "U0001"}),
                   event_id="Ev011")
        bot_.event(dict(base, subtype="message_deleted", previous_message={"text": "help"}), event_id="Ev012")
        bot_.event(dict(base, subtype="bot_message", bot_id="B999", text="help"), event_id="Ev013")
        bot_.settle()  # the four listeners ran to the end
        assert "chat.postMessage" not in standin.methods()
        # the same path is live for a human's DM
        bot_.event(dict(base, user="U0001", text="help"), event_id="Ev014")
        calls = standin.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
    assert sum(c.method == "chat.postMessage" for c in calls) == 1


def test_rate_limited_post_is_retried_after_retry_after(standin):
    standin.rate_limit("chat.postMessage", retry_after=0)
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.command("analyze a.tar.gz")
        standin.wait_for(upload_done, timeout=15)
    posts = standin.of("chat.postMessage")
    assert len(posts) == 2  # the 429, then the retry that succeeded
    assert standin.of("respond") == []


def test_failed_upload_is_retried(standin):
    standin.fail_upload(times=1)
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.command("analyze a.tar.gz")
        standin.wait_for(upload_done)
    assert len(standin.of("files.completeUploadExternal")) == 1
    assert standin.of("respond") == []


def test_upload_that_keeps_failing_is_reported_to_the_user(standin):
    standin.fail_upload(times=10)
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.command("analyze a.tar.gz")
        calls = standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    said = standin.of("respond")[0].params
    assert said["response_type"] == "ephemeral" and "couldn't attach the report" in said["text"]
    assert not any(c.method == "files.completeUploadExternal" for c in calls)


def test_not_in_channel_gets_a_clear_answer_and_no_work(standin):
    # every post fails: the one at the ack, then the worker's own (its fallback)
    standin.fail("chat.postMessage", "not_in_channel", times=5)
    run = ScriptedRun()
    with http_bot(standin, run) as bot_:
        bot_.command("analyze a.tar.gz", channel="G0001")
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    assert "/invite" in standin.of("respond")[0].params["text"]
    assert run.calls == []


def test_dm_where_the_bot_cannot_post_gets_a_clear_answer(standin):
    standin.fail("chat.postMessage", "channel_not_found", times=5)
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.command("analyze a.tar.gz", channel="D0002")
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    assert "private channel or a DM" in standin.of("respond")[0].params["text"]


def test_archive_error_reaches_the_user_as_ephemeral(standin):
    run = ScriptedRun()
    run.error = ArchiveNotFound("No archive named `nope.tar.gz` in the storage roots.")
    with http_bot(standin, run) as bot_:
        bot_.command("analyze nope.tar.gz")
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    said = standin.of("respond")[0].params
    assert said["response_type"] == "ephemeral" and "No archive named" in said["text"]
    parent = standin.of("chat.update")[-1].params["text"]
    assert parent.startswith(":x: Analysis of ") and "failed: No archive named `nope.tar.gz`" in parent, parent
    assert "Check the name" in said["text"]
    assert standin.of("files.getUploadURLExternal") == []


def test_internal_error_gives_a_short_message_not_a_traceback(standin):
    run = ScriptedRun()
    run.error = RuntimeError("secret internals /etc/passwd")
    with http_bot(standin, run) as bot_:
        bot_.command("analyze a.tar.gz")
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    text = standin.of("respond")[0].params["text"]
    assert "went wrong" in text and "passwd" not in text
    parent = standin.of("chat.update")[-1].params["text"]
    assert parent.startswith(":x: Analysis of ") and parent.endswith("failed because of an internal error."), parent


def test_file_and_model_text_cannot_mention_or_smuggle_links(standin):
    run = ScriptedRun(narrative="<!channel> look <@U999> <!subteam^S1> <https://evil.example|docs> @here")
    with http_bot(standin, run) as bot_:
        bot_.command("analyze <!here>.tar.gz")
        standin.wait_for(upload_done)
    everything = json.dumps([c.params for c in standin.calls if c.method.startswith("chat.")])
    for bad in ("<!channel>", "<@U999>", "<!subteam", "<https://evil", "<!here>", "@here"):
        assert bad not in everything, bad
    assert "&lt;!channel&gt;" in everything


def test_queued_user_sees_position_and_queue_full_is_refused(standin):
    run = ScriptedRun()
    run.release.clear()
    with http_bot(standin, run, workers=1, max_queue=1) as bot_:
        first = bot_.command("analyze a.tar.gz")[1]
        assert run.started.wait(5)
        second = bot_.command("analyze b.tar.gz")[1]
        third = bot_.command("analyze c.tar.gz")[1]
        run.release.set()
        standin.wait_for(lambda calls: sum(c.method == "files.completeUploadExternal" for c in calls) == 2)
    assert "Analyzing" in first
    assert "position 1" in second
    assert "already waiting or running" in third


def test_shutdown_hands_work_back_and_the_next_start_finishes_it(standin, tmp_path):
    # SIGTERM (a deploy): nothing is cancelled. The running analysis goes back to the durable queue
    # and its message says it will continue; the queued one stays queued; the next start runs both.
    run = ScriptedRun()
    run.release.clear()
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    with http_bot(standin, run, workers=1, max_queue=2, database_url=database) as bot_:
        bot_.command("analyze a.tar.gz", name="first")
        assert run.started.wait(5)
        bot_.command("analyze b.tar.gz", name="second")
        handed_back = bot_.services.runner.shutdown(grace_s=0.2)
        assert [t.payload["target"] for t in handed_back] == ["a.tar.gz"]
        assert "will continue in a moment" in standin.of("chat.update")[-1].params["text"]
        assert bot_.services.store.tasks.counts("analysis") == {"queued": 2, "running": 0}
    assert not [c for c in standin.of("respond") if "again" in c.params.get("text", "")]
    run.release.set()
    with http_bot(standin, run, workers=1, database_url=database):
        standin.wait_for(lambda calls: sum(c.method == "files.completeUploadExternal" for c in calls) == 2)
    parents = standin.of("chat.postMessage")
    assert len(parents) == 2  # a resumed in its own message; b got one
    resumed = [u for u in standin.of("chat.update") if u.params["ts"] == "1700000000.000100"]
    assert any("resuming" in u.params["text"] for u in resumed)


def test_help_status_and_bad_command(standin):
    with http_bot(standin, ScriptedRun()) as bot_:
        assert "/chimera analyze" in bot_.command("help")[1]
        bad = bot_.command("analyse x")[1]
        assert "don't know" in bad and "/chimera analyze" in bad
        assert "exactly one archive" in bot_.command("analyze")[1]
        assert "unknown option" in bot_.command("analyze a --fast")[1]
        assert bot_.command("status")[1] == "Checking…"
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls))
    text = standin.of("respond")[0].params["text"]
    assert bot.__version__ in text and "stand-in healthy" in text and "0/2 running" in text


def test_health_endpoints_report_liveness_and_readiness_apart(standin):
    with http_bot(standin, ScriptedRun()) as bot_:
        with pytest.raises(urllib.error.HTTPError) as not_yet:  # the digest scheduler is not started
            urllib.request.urlopen(f"{bot_.url}/health/ready", timeout=5)
        assert not_yet.value.code == 503 and json.loads(not_yet.value.read())["checks"]["scheduler"] is False
        bot_.services.scheduler.start()
        with urllib.request.urlopen(f"{bot_.url}/health", timeout=5) as resp:
            live = json.loads(resp.read())
        with urllib.request.urlopen(f"{bot_.url}/health/ready", timeout=5) as resp:
            ready = json.loads(resp.read())
    # liveness, with the in-process part of readiness (nothing saturated)
    assert live == {"status": "ok", "version": bot.__version__, "running": 0, "queued": 0, "starting": False,
                    "ready": True, "saturated": []}
    assert ready["status"] == "ready" and ready["database"]["reachable"] is True and ready["saturated"] == []
    assert ready["checks"] == {"database": True, "database_pool": True, "scheduler": True, "task_runner": True,
                               "listeners": True, "pools": True}
