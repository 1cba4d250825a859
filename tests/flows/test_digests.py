"""A digest run (`bot.flows.digest.run_digest`) on real archive folders (written from seeded synthetic
data): real pipeline, real SQLite file, and every Slack call through the Web API stand-in over HTTP.

Which archive is next is in tests/core/test_archives.py, the message's escaping in
tests/render/test_digest.py."""

from __future__ import annotations

import tarfile

from bot.core.records import Task
from bot.core.regression import IMPROVEMENT, REGRESSION
from bot.flows.digest import FAILED, NOTHING_NEW, POSTED, QUIET, DigestTasks, run_digest
from bot.flows.tasks import Lease
from tests.digest_support import DigestEnv, digest_env, message_text, write_synth


def _digest(env: DigestEnv, sub):
    sub = env.store.subscriptions.get_subscription(sub.id)
    return run_digest(sub, ports=env.ports)


def test_a_build_numbered_archive_after_run_9_is_digested(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe(prefix="builds")
        write_synth(env.root, "builds/run-9", archive=0)
        assert _digest(env, sub).archive == "builds/run-9"
        write_synth(env.root, "builds/run-10", archive=1)
        outcome = _digest(env, sub)
        assert (outcome.status, outcome.archive) == (POSTED, "builds/run-10")
        assert _digest(env, sub).status == NOTHING_NEW
        assert "since `builds/run-10`" in env.top_posts()[-1].params["text"]


def test_injected_regression_is_found_with_its_severity_and_posted_once_with_the_report(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        write_synth(env.root, "nightly/2025-11-01", archive=0)
        first = _digest(env, sub)
        assert first.status == POSTED and first.archive == "nightly/2025-11-01"
        assert "First digest" in message_text(env.top_posts()[0])

        # gemma3:4b loses 20 % throughput; nothing else changes. Against one earlier digest the
        # run-to-run noise is assumed, not measured: at least minor, possibly major (15-30 %).
        write_synth(env.root, "nightly/2025-11-02", archive=1, throughput_factor={"gemma3:4b": 0.8})
        outcome = _digest(env, sub)
        assert outcome.status == POSTED and outcome.archive == "nightly/2025-11-02"

        items = outcome.news.items
        assert {(i.kind, i.model, i.metric) for i in items} == {("regression", "gemma3:4b", "throughput_tok_s")}
        assert len(items) == 2  # both configurations
        for item in items:
            v = item.series.verdict
            assert v.status == REGRESSION and -0.25 < v.rel_change < -0.15
            assert v.severity in ("minor", "major") and v.severity_max in ("major", "critical")

        posts = env.top_posts()
        assert len(posts) == 2
        text = message_text(posts[1])
        assert "regression: gemma3:4b Throughput −2" in text and "2 regressions" in text
        assert " · gemma3:4b `num_ctx=2048` · Throughput −" in text and "30 requests vs 1 earlier run" in text
        assert "`nightly/2025-11-01`" in text  # what it was compared with
        assert "one earlier archive: run-to-run noise is assumed" in text
        assert "No significant change" not in text
        assert posts[1].params["text"].startswith("Digest of nightly/2025-11-02: ")
        assert "regression: gemma3:4b Throughput −" in posts[1].params["text"]

        # the full report goes into that message's thread
        complete = env.standin.of("files.completeUploadExternal")[-1].params
        ts = f"1700000000.{100 + 1:06d}"  # the stand-in's second ts: the second digest post
        assert complete["thread_ts"] == ts and complete["channel_id"] == "C0DIGEST"
        report, news = env.standin.of("upload")[-2:]
        assert report.body.startswith(b"# ")
        assert news.body.startswith(b"# Digest news: nightly/2025-11-02 since nightly/2025-11-01")
        assert b"## Every series compared" in news.body

        digest = env.store.digests.digest_for_run(env.store.digests.previous_digest_runs(sub.id)[0].id)
        assert digest.status == "posted" and digest.posted_ts == ts


def test_no_change_with_realistic_noise_says_so_and_alerts_nothing(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        write_synth(env.root, "nightly/2025-11-01", archive=0)
        _digest(env, sub)
        write_synth(env.root, "nightly/2025-11-02", archive=1)  # same build, another run
        outcome = _digest(env, sub)
        assert outcome.status == POSTED
        assert outcome.news.items == ()
        text = message_text(env.top_posts()[-1])
        assert "No significant change" in text and "12 comparisons within noise" in text
        assert "regression" not in text.lower()
        assert env.top_posts()[-1].params["text"].endswith("no significant change")


def test_with_history_a_critical_regression_is_judged_against_earlier_digests(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        for day in range(1, 5):  # four digests of the same build: the noise history
            write_synth(env.root, f"nightly/2025-11-0{day}", archive=100 + day)
            assert _digest(env, sub).status == POSTED
        # qwen2.5:14b loses 40 % throughput (critical) and its TTFT gets 20 % faster (minor improvement)
        write_synth(env.root, "nightly/2025-11-05", archive=200, throughput_factor={"qwen2.5:14b": 0.6},
                    ttft_factor={"qwen2.5:14b": 0.8})
        outcome = _digest(env, sub)
        items = outcome.news.items
        assert {(i.kind, i.model, i.metric, i.level) for i in items} == {
            ("regression", "qwen2.5:14b", "throughput_tok_s", "critical"),
            ("improvement", "qwen2.5:14b", "ttft_ms", "info")}
        for item in items:
            assert item.series.baseline_labels == tuple(f"nightly/2025-11-0{day}" for day in range(1, 5))
            assert item.series.verdict.status in (REGRESSION, IMPROVEMENT)
        text = message_text(env.top_posts()[-1])
        assert ":red_circle: *CRITICAL regression* · qwen2.5:14b" in text
        assert ":large_green_circle: *Improvement* · qwen2.5:14b" in text
        assert text.index("CRITICAL") < text.index("*Improvement*")  # worst first
        assert "Critical regression: qwen2.5:14b Throughput −4" in text  # the headline: the worst
        assert "up to 4 earlier archives" in text


def test_nothing_new_posts_one_line_or_stays_silent_per_subscription(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        loud, quiet = env.subscribe(), env.subscribe(quiet=True, channel="C0QUIET")
        assert _digest(env, loud).status == NOTHING_NEW
        assert "No archives under `nightly` yet" in env.top_posts()[0].params["text"]
        write_synth(env.root, "nightly/2025-11-01")
        assert _digest(env, loud).status == POSTED
        assert _digest(env, quiet).status == POSTED
        assert _digest(env, loud).status == NOTHING_NEW
        assert _digest(env, quiet).status == QUIET
        last = env.top_posts()[-1].params
        assert last["text"] == ":zzz: Nothing new under `nightly` since `nightly/2025-11-01` (digest #1)."
        assert "blocks" not in last or not last["blocks"]
        assert len(env.top_posts("C0QUIET")) == 1  # its one digest, no "nothing new" line


def test_newer_archives_supersede_older_new_ones_and_a_claimed_archive_is_never_redone(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        for day in (1, 2, 3):
            write_synth(env.root, f"nightly/2025-11-0{day}", archive=day)
        (env.root / "nightly" / ".hidden").mkdir()
        outcome = _digest(env, sub)
        assert outcome.archive == "nightly/2025-11-03"
        assert "Also new, not digested separately: `nightly/2025-11-01`, `nightly/2025-11-02`" in \
            message_text(env.top_posts()[0])
        # another process that raced for the same archive gets nothing
        assert env.store.digests.claim_digest(sub.id, "nightly/2025-11-03") is None
        write_synth(env.root, "nightly/2025-11-04", archive=4)
        env.store.digests.claim_digest(sub.id, "nightly/2025-11-04")  # "the other process" claims it first
        assert _digest(env, sub).status == NOTHING_NEW  # it is theirs: no second digest of it
        assert [message_text(p).startswith("Digest of") for p in env.top_posts()] == [True, False]


def test_a_broken_archive_is_recorded_failed_and_reported_then_not_retried(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        (env.root / "nightly").mkdir()
        (env.root / "nightly" / "2025-11-01.tar.gz").write_bytes(b"this is not a tarball")
        outcome = _digest(env, sub)
        assert outcome.status == FAILED and outcome.archive == "nightly/2025-11-01.tar.gz"
        text = env.top_posts()[0].params["text"]
        assert text.startswith(":x: The scheduled digest of `nightly/2025-11-01.tar.gz` (digest #1) failed: ")
        assert "not retried automatically" in text and str(tmp_path) not in text  # no server paths

        assert env.store.digests.previous_digest_runs(sub.id) == []  # a failed digest is never a baseline
        run_id = outcome.run_id
        run = env.store.runs.get_run(run_id)
        assert run.status == "failed" and run.error == outcome.error
        assert env.store.digests.digest_for_run(run_id).status == "failed"
        assert _digest(env, sub).status == NOTHING_NEW  # reported once, not retried every fire


def test_a_crash_half_way_posting_is_recorded_and_reported_in_the_channel(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        write_synth(env.root, "nightly/2025-11-01")
        env.standin.fail("chat.postMessage", "msg_too_long")  # the summary post fails, after analysis
        outcome = _digest(env, sub)
        assert outcome.status == FAILED
        posts = env.top_posts()
        assert len(posts) == 2  # the failed summary attempt, then the failure report
        assert posts[1].params["text"].startswith(":x: The scheduled digest of `nightly/2025-11-01`")
        assert "too long for Slack" in posts[1].params["text"]
        run = env.store.runs.get_run(outcome.run_id)
        assert run.status == "failed"
        assert env.store.digests.digest_for_run(run.id).status == "failed"


def test_the_narrative_failing_never_blocks_the_digest(tmp_path, database_url):
    # digest_use_llm on, Ollama refused (the autouse fixture points OLLAMA_HOST at a closed port)
    with digest_env(tmp_path, database_url=database_url, digest_use_llm=True, ollama_host="http://127.0.0.1:9",
                    ollama_timeout_s=2.0) as env:
        sub = env.subscribe()
        write_synth(env.root, "nightly/2025-11-01")
        outcome = _digest(env, sub)
        assert outcome.status == POSTED
        text = message_text(env.top_posts()[0])
        assert "Narrative failed" in text


def test_tarball_archives_are_listed_and_digested_too(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        folder = write_synth(tmp_path / "src", "2025-11-01")
        (env.root / "nightly").mkdir()
        with tarfile.open(env.root / "nightly" / "2025-11-01.tar.gz", "w:gz") as tar:
            tar.add(folder, arcname="2025-11-01")
        outcome = _digest(env, sub)
        assert outcome.status == POSTED and outcome.archive == "nightly/2025-11-01.tar.gz"


# --- a fire taken over from a replica that died ------------------------------------------------------
def _fire_left_by_a_dead_replica(env: DigestEnv, sub) -> Task:
    queued = env.store.tasks.enqueue(kind="digest", key="digest-fire:1:test", payload={"subscription_id": sub.id})
    assert queued is not None and env.store.tasks.claim(kinds=["digest"], owner="dead", lease_s=300) is not None
    return queued


def _take_over(env: DigestEnv) -> dict:
    env.store.tasks.expire_owner("dead")  # its lease ran out
    taken = env.store.tasks.claim(kinds=["digest"], owner="heir", lease_s=300)
    assert taken is not None and taken.previous_owner == "dead"
    return DigestTasks(env.ports).run(Lease(taken, tasks=env.store.tasks, owner="heir"))


def test_a_fire_taken_over_mid_digest_resumes_its_archive_instead_of_saying_nothing_new(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        write_synth(env.root, "nightly/2025-11-14")
        fire = _fire_left_by_a_dead_replica(env, sub)
        # the dead replica had claimed the archive and was analyzing it
        claim = env.store.digests.claim_digest(sub.id, "nightly/2025-11-14", task_id=fire.id)
        env.store.runs.start_run(claim.run_id)
        outcome = _take_over(env)
        assert (outcome["status"], outcome["archive"]) == (POSTED, "nightly/2025-11-14")
        posts = env.top_posts()
        assert len(posts) == 1 and message_text(posts[0]).startswith("Digest of nightly/2025-11-14")
        assert env.store.digests.digest_for_task(fire.id).status == "posted"
        assert env.store.runs.get_run(claim.run_id).status == "done"


def test_a_fire_taken_over_after_its_digest_was_posted_never_posts_it_again(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        write_synth(env.root, "nightly/2025-11-14")
        fire = _fire_left_by_a_dead_replica(env, sub)
        claim = env.store.digests.claim_digest(sub.id, "nightly/2025-11-14", task_id=fire.id)
        env.store.digests.finish_digest(claim.id, status="posted", posted_ts="1700000000.000999")  # then it died
        outcome = _take_over(env)
        assert (outcome["status"], outcome["posted_ts"]) == (POSTED, "1700000000.000999")
        assert env.top_posts() == []


def test_a_fire_given_up_is_reported_in_the_channel_not_skipped_silently(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env:
        sub = env.subscribe()
        fire = _fire_left_by_a_dead_replica(env, sub)
        claim = env.store.digests.claim_digest(sub.id, "nightly/2025-11-14", task_id=fire.id)
        DigestTasks(env.ports).give_up(env.store.tasks.get(fire.id), "the bot stopped while working on it")
        text = env.top_posts()[0].params["text"]
        assert "nightly/2025-11-14" in text and "the bot stopped while working on it" in text
        assert env.store.digests.digest_for_task(fire.id).status == "failed"
        assert env.store.runs.get_run(claim.run_id).status == "failed"
