"""A digest run on real archive folders (written from seeded synthetic data): real pipeline, real
SQLite file, and every Slack call through the Web API stand-in over HTTP."""

from __future__ import annotations

import tarfile
from datetime import UTC

from bot.core.archives import pick_archive
from bot.core.records import Task
from bot.core.regression import IMPROVEMENT, METHOD_MW_Z, REGRESSION, Change
from bot.flows.digest import FAILED, NOTHING_NEW, POSTED, QUIET, DigestTasks, run_digest
from bot.flows.tasks import Lease
from bot.render.digest import DigestView
from tests.digest_support import DigestEnv, digest_env, message_text, write_synth


def _digest(env: DigestEnv, sub):
    sub = env.store.subscriptions.get_subscription(sub.id)
    return run_digest(sub, ports=env.ports)


def test_pick_archive_takes_the_newest_new_name_and_never_digs_out_old_ones():
    assert pick_archive([], set()) == (None, [])
    assert pick_archive(["n/2025-11-02", "n/2025-11-01"], set()) == ("n/2025-11-02", ["n/2025-11-01"])
    names = ["n/2025-11-01", "n/2025-11-02", "n/2025-11-03", "n/2025-11-04"]
    assert pick_archive(names, {"n/2025-11-02"}) == ("n/2025-11-04", ["n/2025-11-03"])
    assert pick_archive(names, {"n/2025-11-04"}) == (None, [])
    # a never-digested archive older than the last digest is not "new"
    assert pick_archive(names, {"n/2025-11-01", "n/2025-11-04"}) == (None, [])


def test_pick_archive_orders_numbers_inside_names_by_value():
    # Plain string order puts "run-10" before "run-9": after run-9 the subscription went silent.
    assert pick_archive(["b/run-9", "b/run-10", "b/run-11"], {"b/run-9"}) == ("b/run-11", ["b/run-10"])
    assert pick_archive(["n/2025-11-9", "n/2025-11-10"], {"n/2025-11-9"}) == ("n/2025-11-10", [])
    assert pick_archive(["b/run-2", "b/run-10"], set()) == ("b/run-10", ["b/run-2"])
    assert pick_archive(["b/run-9", "b/run-10"], {"b/run-10"}) == (None, [])


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

        # gemma3:4b loses 20 % throughput: a MAJOR regression (15-30 %); nothing else changes
        write_synth(env.root, "nightly/2025-11-02", archive=1, throughput_factor={"gemma3:4b": 0.8})
        outcome = _digest(env, sub)
        assert outcome.status == POSTED and outcome.archive == "nightly/2025-11-02"

        alerts = [c for c in outcome.changes if c.is_alert]
        assert {(c.model, c.metric, c.direction, c.severity) for c in alerts} == {
            ("gemma3:4b", "throughput_tok_s", REGRESSION, "major")}
        assert len(alerts) == 2  # both configurations
        assert all(-0.25 < c.rel_change < -0.15 for c in alerts)

        posts = env.top_posts()
        assert len(posts) == 2
        text = message_text(posts[1])
        assert "2 regressions" in text and "0 improvements" in text
        assert "MAJOR regression" in text and "gemma3:4b" in text and "throughput −" in text
        assert "`nightly/2025-11-01`" in text  # what it was compared with
        assert "No significant change" not in text
        assert posts[1].params["text"].startswith("Digest of nightly/2025-11-02: 2 regressions, worst: major")

        # the full report goes into that message's thread
        complete = env.standin.of("files.completeUploadExternal")[-1].params
        ts = f"1700000000.{100 + 1:06d}"  # the stand-in's second ts: the second digest post
        assert complete["thread_ts"] == ts and complete["channel_id"] == "C0DIGEST"
        assert env.standin.of("upload")[-1].body.startswith(b"# ")

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
        assert not [c for c in outcome.changes if c.is_alert]
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
        alerts = [c for c in outcome.changes if c.is_alert]
        assert {(c.model, c.metric, c.direction, c.severity) for c in alerts} == {
            ("qwen2.5:14b", "throughput_tok_s", REGRESSION, "critical"),
            ("qwen2.5:14b", "ttft_ms", IMPROVEMENT, "minor")}
        assert all(c.method == METHOD_MW_Z for c in outcome.changes if c.direction != "no change")
        text = message_text(env.top_posts()[-1])
        assert ":red_circle: *CRITICAL regression*" in text and ":large_green_circle: *MINOR improvement*" in text
        assert text.index("CRITICAL") < text.index("MINOR improvement")  # regressions first
        assert "last 4 digests' noise" in text


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


def test_the_message_escapes_archive_model_and_config_text():
    from datetime import datetime

    from bot.core.records import Subscription

    sub = Subscription(1, "C1", "daily 09:00", {}, "UTC", "night<ly>", False, None,
                       datetime.now(UTC), True)
    evil = Change("<!channel> m", "ctx=`1` <@U1>", "throughput_tok_s", 100.0, 70.0, -0.3, REGRESSION,
                  "critical", 1e-9, 30, 30, "mann-whitney")
    view = DigestView(subscription=sub, archive="nightly/<!here>", baseline="<http://x|y>",
                      changes=[evil])
    text = "\n".join(message_text_of(view))
    assert "<!channel>" not in text and "<!here>" not in text and "<@U1>" not in text
    assert "<http" not in text and "&lt;!channel&gt;" in text
    assert "`1`" not in text  # a backtick in a config cannot end the code span early


def message_text_of(view: DigestView) -> list[str]:
    out = [view.fallback_text()]
    for block in view.blocks():
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", []) + block.get("fields", [])]
    return out


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
