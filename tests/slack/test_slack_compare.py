"""``/chimera compare`` end to end over real HTTP: a signed slash command into the bot (Bolt on
waitress), the real pipeline on archive folders written from seeded synthetic data, and every
Slack call recorded by the Web API stand-in."""

from __future__ import annotations

import json
import threading

from tests.digest_support import message_text, write_synth
from tests.slack_support import http_bot, upload_done

BASE, NEW = "nightly/2025-11-13", "nightly/2025-11-14"


def _bot(standin, tmp_path, **overrides):
    (tmp_path / "storage").mkdir(exist_ok=True)
    return http_bot(standin, None, storage_roots=[str(tmp_path / "storage")], **overrides)


def test_compare_two_archives_posts_like_a_digest_with_the_report_in_the_thread(standin, tmp_path):
    root = tmp_path / "storage"
    write_synth(root, BASE, archive=0)
    # gemma3:4b loses 40 % throughput; llama3.1:8b's requests all fail
    frame_kwargs = {"throughput_factor": {"gemma3:4b": 0.6}}
    write_synth(root, NEW, archive=1, **frame_kwargs)
    results = root / NEW / "results.csv"
    lines = results.read_text().splitlines()
    lines = [lines[0]] + [
        (",".join(line.split(",")[:2]) + ",0,0,HTTP 500: out of memory") if line.startswith("llama3.1:8b,")
        else line for line in lines[1:]]
    results.write_text("\n".join(lines) + "\n")

    with _bot(standin, tmp_path) as bot_:
        status, body, _ = bot_.command(f"compare {BASE} {NEW}")
        assert status == 200 and f"Comparing `{NEW}` with `{BASE}`" in body  # acked at once
        calls = standin.wait_for(upload_done, timeout=30)
        bot_.settle()

    methods = [c.method for c in calls if c.method != "auth.test"]
    assert methods.count("chat.postMessage") == 1  # ONE message: the placeholder, then replaced
    placeholder = standin.of("chat.postMessage")[0]
    assert placeholder.params["text"].startswith(":hourglass_flowing_sand: <@U0001> asked to compare")
    final = standin.of("chat.update")[-1]
    assert final.params["ts"] == "1700000000.000100"
    blocks = final.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert blocks[0]["text"]["text"] == f"Compare: {NEW} vs {BASE}"
    text = message_text(final)
    # the headline is the worst news; every kind is its own line, worst first
    assert f":red_circle: *Every request failed: llama3.1:8b* compared with `{BASE}` — " in text
    assert "— 2 configurations with every request failed, 2 regressions" in text
    assert ":red_circle: *Every request failed* · llama3.1:8b `num_ctx=2048` · 30 of 30 requests" in text
    assert "*CRITICAL regression* · gemma3:4b `num_ctx=2048` · Throughput −3" in text
    assert text.index("Every request failed* ·") < text.index("CRITICAL regression* ·")
    assert "one earlier archive: run-to-run noise is assumed, not measured" in text
    assert "No significant change" not in text
    assert final.params["text"].startswith(f"Comparison of {NEW} with {BASE}: Every request failed: llama3.1:8b")

    # the news report goes into that message's thread
    complete = standin.of("files.completeUploadExternal")[0].params
    assert complete["thread_ts"] == "1700000000.000100" and complete["channel_id"] == "C0001"
    assert [f["title"] for f in json.loads(complete["files"])] == [f"Comparison: {NEW} vs {BASE}"]
    report = standin.of("upload")[0].body.decode()
    assert report.startswith(f"# Comparison: {NEW} vs {BASE}\n")
    assert "## Every series compared" in report and "| gemma3:4b | num_ctx=2048 | Throughput | regression" in report
    order = [m for m in methods if m in ("chat.postMessage", "chat.update", "files.completeUploadExternal")]
    assert order == ["chat.postMessage", "chat.update", "files.completeUploadExternal"]


def test_compare_two_configurations_of_one_archive(standin, tmp_path):
    write_synth(tmp_path / "storage", NEW, archive=1)
    with _bot(standin, tmp_path) as bot_:
        status, body, _ = bot_.command(f"compare {NEW} num_ctx=2048 num_ctx=8192")
        assert status == 200
        assert f"Comparing `{NEW} [num_ctx=8192]` with `{NEW} [num_ctx=2048]`" in body
        standin.wait_for(upload_done, timeout=30)
        bot_.settle()
    final = standin.of("chat.update")[-1]
    text = message_text(final)
    assert f"Compare: {NEW} [num_ctx=8192] vs {NEW} [num_ctx=2048]" in text
    # the same three models pair up on what remains of their configuration: nothing gone or new
    assert "gone" not in text and "New " not in text
    report = standin.of("upload")[0].body.decode()
    assert report.count("\n| ") == 1 + 6  # header + 3 models x (throughput, TTFT)


def test_an_unknown_archive_is_a_short_ephemeral_and_the_placeholder_says_failed(standin, tmp_path):
    write_synth(tmp_path / "storage", BASE, archive=0)
    with _bot(standin, tmp_path) as bot_:
        status, _body, _ = bot_.command(f"compare {BASE} nightly/nope")
        assert status == 200
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls), timeout=30)
        bot_.settle()
    said = standin.of("respond")[0].params
    assert said["response_type"] == "ephemeral" and said["text"].startswith("The comparison failed: ")
    assert "nightly/nope" in said["text"] and str(tmp_path) not in said["text"]
    assert standin.of("chat.update")[-1].params["text"].startswith(f":x: Comparing `nightly/nope` with `{BASE}`")
    assert standin.of("files.getUploadURLExternal") == []


def test_a_configuration_that_selects_nothing_is_explained(standin, tmp_path):
    write_synth(tmp_path / "storage", NEW, archive=1)
    with _bot(standin, tmp_path) as bot_:
        bot_.command(f"compare {NEW} num_ctx=2048 num_ctx=999")
        standin.wait_for(lambda calls: any(c.method == "respond" for c in calls), timeout=30)
        bot_.settle()
    assert "[num_ctx=999]` holds no measurements to compare" in standin.of("respond")[0].params["text"]


def test_a_bad_compare_command_is_answered_in_the_ack(standin, tmp_path):
    with _bot(standin, tmp_path) as bot_:
        status, body, _ = bot_.command("compare only-one")
        assert status == 200 and "give two archive names" in body
        bot_.settle()
    assert standin.of("chat.postMessage") == []


def test_compare_by_mention_works_too(standin, tmp_path):
    root = tmp_path / "storage"
    write_synth(root, BASE, archive=0)
    write_synth(root, NEW, archive=1)
    with _bot(standin, tmp_path) as bot_:
        bot_.event({"type": "app_mention", "user": "U0001", "channel": "C0001", "ts": "1700000001.000001",
                    "text": f"<@UBOT0001> compare {BASE} {NEW}"}, event_id="Ev1")
        standin.wait_for(upload_done, timeout=30)
        bot_.settle()
    text = message_text(standin.of("chat.update")[-1])
    assert f"Compare: {NEW} vs {BASE}" in text


def test_a_comparison_waits_in_the_analyses_line_and_counts_against_its_limit(standin, tmp_path):
    # Comparisons run on the analysis workers (one memory bound per job): with one worker busy and
    # no room in line, a comparison is refused like an analysis; once the line moves it runs.
    root = tmp_path / "storage"
    write_synth(root, BASE, archive=0)
    write_synth(root, NEW, archive=1)
    gate = threading.Event()
    with _bot(standin, tmp_path, workers=1, max_queue=1) as bot_:
        real = bot_.services.pipeline

        class Held:
            def run(self, target, **kwargs):
                gate.wait(30)
                return real.run(target, **kwargs)

        bot_.services.pipeline = Held()
        first = bot_.command(f"compare {BASE} {NEW}")[1]
        assert f"Comparing `{NEW}` with `{BASE}`" in first
        standin.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls), timeout=30)
        second = bot_.command(f"compare {NEW} {BASE}")[1]
        assert "position 1 in line" in second
        third = bot_.command(f"compare {BASE} {NEW}")[1]
        assert "2 analyses and comparisons are already waiting or running" in third
        gate.set()
        standin.wait_for(lambda calls: sum(c.method == "files.completeUploadExternal" for c in calls) == 2,
                         timeout=60)
        bot_.settle()
    assert len(standin.of("chat.postMessage")) == 2
