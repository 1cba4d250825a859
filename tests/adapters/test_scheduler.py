"""The digest scheduler: real APScheduler 3 with its SQLAlchemy job store on a SQLite file, run
under freezegun; digests go through the real pipeline to the Slack stand-in over HTTP."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from bot.adapters.scheduler import DigestScheduler, fire_digest, fire_key
from bot.flows.digest import FAILED, POSTED
from tests.digest_support import DigestEnv, digest_env, message_text, write_synth

UTC = UTC
NINE = datetime(2025, 11, 14, 9, 0, tzinfo=UTC)


def _uploaded(calls) -> bool:
    return any(c.method == "files.completeUploadExternal" for c in calls)


def _eventually(predicate, timeout: float = 5.0) -> None:
    # counts sleeps rather than reading a clock: freezegun freezes time.monotonic too
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


class Schedulers:
    """Schedulers with their own store connections and task runners (like separate bot processes);
    all shut down (waiting for running digests) and closed at the end."""

    def __init__(self, env: DigestEnv) -> None:
        self.env, self.made, self.runners = env, [], {}

    def new(self, *, start: bool = True) -> DigestScheduler:
        scheduler, runner = self.env.scheduler()
        self.made.append(scheduler)
        self.runners[id(scheduler)] = runner
        runner.start()  # fires are queued; the runner (of any "process") runs them
        if start:
            scheduler.start()
        return scheduler

    def stop(self, scheduler: DigestScheduler) -> None:
        scheduler.shutdown(wait=True)  # no new fires
        self.runners[id(scheduler)].shutdown(grace_s=30)  # the digests already queued here finish
        scheduler.store.close()

    def __enter__(self) -> Schedulers:
        return self

    def __exit__(self, *exc: object) -> None:
        for scheduler in self.made:
            self.stop(scheduler)


def test_a_fire_at_the_scheduled_time_posts_exactly_one_digest(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s, \
            freeze_time("2025-11-14 08:59:30", tick=True) as clock:
        write_synth(env.root, "nightly/2025-11-14")
        sub = env.subscribe(schedule="daily 09:00")
        scheduler = s.new()
        assert scheduler.job_ids() == ["digest-1"]
        assert scheduler.next_run_time(sub.id) == NINE
        clock.move_to("2025-11-14 09:00:01")
        scheduler.wakeup()
        env.standin.wait_for(_uploaded)
        assert scheduler.next_run_time(sub.id) == NINE + timedelta(days=1)
        s.stop(scheduler)  # waits for the digest job to finish
        posts = env.top_posts()
        assert len(posts) == 1 and message_text(posts[0]).startswith("Digest of nightly/2025-11-14")
        # the fire is recorded under its key: queueing the same fire again is refused
        fire = env.store.tasks.by_key(fire_key(sub.id, NINE))
        assert fire is not None and fire.state == "done" and fire.payload["outcome"]["status"] == POSTED
        assert env.store.tasks.enqueue(kind="digest", key=fire_key(sub.id, NINE), payload={}) is None


def test_jobs_survive_a_restart_and_keep_their_next_fire_time(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s, \
            freeze_time("2025-11-14 15:00:00", tick=True):  # Friday 10:00 in New York
        sub = env.subscribe(schedule="weekdays 09:00", tz="America/New_York")
        first = s.new()
        before = first.next_run_time(sub.id)
        assert before == datetime(2025, 11, 17, 14, 0, tzinfo=UTC)  # Monday 09:00 EST
        s.stop(first)
        second = s.new()  # a new process: same database file
        assert second.job_ids() == ["digest-1"]
        assert second.next_run_time(sub.id) == before
        # a subscription removed while the bot was down loses its job at the next start
        env.store.subscriptions.remove_subscription(sub.id, channel="C0DIGEST")
        s.stop(second)
        assert s.new().job_ids() == []


def test_a_restart_within_the_grace_still_fires_once_but_a_late_one_posts_nothing_stale(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s, \
            freeze_time("2025-11-14 08:59:00", tick=True) as clock:
        write_synth(env.root, "nightly/2025-11-14")
        sub = env.subscribe(schedule="daily 09:00")
        s.stop(s.new())
        clock.move_to("2025-11-14 09:10:00")  # down over 09:00, back 10 minutes later
        back = s.new()
        env.standin.wait_for(_uploaded)
        s.stop(back)
        assert len(env.top_posts()) == 1

        clock.move_to("2025-11-15 09:20:00")  # down over the next 09:00 for 20 minutes: too late
        write_synth(env.root, "nightly/2025-11-15")
        late = s.new()
        # the missed fire is skipped (APScheduler logs it as missed) and the next one scheduled
        _eventually(lambda: late.next_run_time(sub.id) == NINE + timedelta(days=2))
        s.stop(late)
        assert len(env.top_posts()) == 1  # no stale 09:00 digest at 09:20


def test_two_schedulers_on_one_database_post_a_fire_once(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s, \
            freeze_time("2025-11-14 08:59:30", tick=True) as clock:
        write_synth(env.root, "nightly/2025-11-14")
        sub = env.subscribe(schedule="daily 09:00")
        one, two = s.new(), s.new()
        assert one.job_ids() == two.job_ids() == ["digest-1"]
        clock.move_to("2025-11-14 09:00:02")
        one.wakeup()
        two.wakeup()
        env.standin.wait_for(_uploaded)
        s.stop(one)
        s.stop(two)
        assert len(env.top_posts()) == 1
        assert len(env.store.digests.digested_archives(sub.id)) == 1


def test_two_processes_firing_the_same_fire_at_the_same_instant_post_once(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s:
        write_synth(env.root, "nightly/2025-11-14")
        sub = env.subscribe()
        schedulers = [s.new(start=False), s.new(start=False)]
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def fire(scheduler: DigestScheduler) -> None:
            barrier.wait()
            outcomes.append(scheduler.fire(sub.id, NINE))

        threads = [threading.Thread(target=fire, args=(sch,)) for sch in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(o is None for o in outcomes) == [False, True]  # one queued it, one found it queued
        env.standin.wait_for(_uploaded)
        for scheduler in schedulers:
            s.stop(scheduler)
        assert len(env.top_posts()) == 1


def test_a_fire_for_a_removed_subscription_drops_its_job_and_posts_nothing(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s, \
            freeze_time("2025-11-14 08:00:00", tick=True):
        sub = env.subscribe()
        scheduler = s.new()
        env.store.subscriptions.remove_subscription(sub.id, channel="C0DIGEST")
        assert scheduler.fire(sub.id, NINE) is None
        assert scheduler.job_ids() == []
        assert env.top_posts() == []


def test_a_failure_before_any_archive_is_claimed_is_reported_in_the_channel(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s:
        # stored by an older version or by hand: a prefix the storage refuses
        sub = env.store.subscriptions.add_subscription(channel="C0DIGEST", schedule="daily 09:00", trigger={},
                                         timezone="UTC", prefix="../outside")
        task = s.new(start=False).fire(sub.id, NINE)
        assert task is not None
        env.standin.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls))
        _eventually(lambda: env.store.tasks.get(task.id).state == "done")
        assert env.store.tasks.get(task.id).payload["outcome"]["status"] == FAILED
        text = env.top_posts()[0].params["text"]
        assert text.startswith(":x: The scheduled digest for `../outside` (digest #1) failed: ")
        assert "'..'" in text


def test_a_digest_left_running_by_a_dead_process_is_reported_at_the_next_start(tmp_path, database_url):
    with digest_env(tmp_path, database_url=database_url) as env, Schedulers(env) as s, \
            freeze_time("2025-11-14 09:00:00", tick=True) as clock:
        sub = env.subscribe()
        claim = env.store.digests.claim_digest(sub.id, "nightly/2025-11-14")  # then the process died
        env.store.runs.start_run(claim.run_id)
        clock.move_to("2025-11-14 12:00:00")
        s.new()
        text = env.top_posts()[0].params["text"]
        assert text.startswith(":x: The scheduled digest of `nightly/2025-11-14` (digest #1) failed: "
                               "the bot stopped while this digest was running.")
        assert env.store.digests.digest_for_run(claim.run_id).status == "failed"
        assert env.store.runs.get_run(claim.run_id).status == "failed"


def test_the_job_function_refuses_to_run_outside_its_executor():
    with pytest.raises(RuntimeError, match="DigestExecutor"):
        fire_digest(1)
