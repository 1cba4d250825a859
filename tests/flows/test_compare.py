"""The comparison flow (`bot.flows.compare`) with the real pipeline on archive folders and every Slack
call through the Web API stand-in; the slash command itself is in tests/slack/test_slack_compare.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.app import build_pipeline
from bot.core.records import Task
from bot.errors import NothingToCompare
from bot.flows.compare import CompareJob, CompareTasks, Comparison, compare_news
from bot.flows.pipeline import RunResult
from bot.flows.tasks import Lease
from tests.digest_support import DigestEnv, digest_env, write_synth


class Pipeline:
    """The real pipeline, with a hook run before each analysis."""

    def __init__(self, env: DigestEnv, before: Any = None) -> None:
        self.real = build_pipeline(env.settings)
        self.before = before
        self.targets: list[str] = []

    def run(self, target: str, *, use_llm: bool = True, allow_local_paths: bool = False,
            progress: Any = None) -> RunResult:
        assert use_llm is False and allow_local_paths is False  # data only, storage roots only
        self.targets.append(target)
        if self.before is not None:
            self.before()
        return self.real.run(target, use_llm=use_llm, allow_local_paths=allow_local_paths)


def _job(env: DigestEnv, pipeline: Any, comparison: Comparison, said: list[str]) -> CompareJob:
    return CompareJob(pipeline=pipeline, poster=env.ops, comparison=comparison, channel="C0001",
                      user="U0001", notify=said.append)


def test_compare_news_judges_b_against_a_and_analyzes_one_archive_once_for_two_configs(tmp_path):
    with digest_env(tmp_path) as env:
        write_synth(env.root, "runs/a", archive=0)
        write_synth(env.root, "runs/b", archive=1, throughput_factor={"qwen2.5:14b": 0.5})
        pipeline = Pipeline(env)
        news = compare_news(Comparison("runs/a", "runs/b"), pipeline)
        assert (news.current, news.baseline, news.history) == ("runs/b", "runs/a", ("runs/a",))
        assert {(i.kind, i.model) for i in news.items} == {("regression", "qwen2.5:14b")}
        assert pipeline.targets == ["runs/a", "runs/b"]

        pipeline.targets.clear()
        configs = compare_news(Comparison("runs/b", "runs/b", ("num_ctx=2048", "num_ctx=8192")), pipeline)
        assert pipeline.targets == ["runs/b"]
        assert configs.baseline == "runs/b [num_ctx=2048]" and configs.compared == 6
        with pytest.raises(NothingToCompare, match=r"`runs/b \[num_ctx=1\]` holds no measurements"):
            compare_news(Comparison("runs/b", "runs/b", ("num_ctx=1", "num_ctx=8192")), pipeline)


def test_a_comparison_cut_off_at_shutdown_is_not_delivered(tmp_path):
    with digest_env(tmp_path) as env:
        write_synth(env.root, "runs/a", archive=0)
        write_synth(env.root, "runs/b", archive=1)
        said: list[str] = []
        job: CompareJob

        def shutdown_now() -> None:
            job.cancel("The bot is restarting; run the command again.")

        job = _job(env, Pipeline(env, before=shutdown_now), Comparison("runs/a", "runs/b"), said)
        job.run()
        assert said == ["The bot is restarting; run the command again."]
        updates = env.standin.of("chat.update")
        assert [u.params["text"] for u in updates] == [":warning: Comparison stopped: the bot is restarting."]
        assert env.standin.of("files.getUploadURLExternal") == []


def test_a_job_cancelled_before_it_starts_posts_nothing(tmp_path):
    with digest_env(tmp_path) as env:
        said: list[str] = []
        job = _job(env, Pipeline(env), Comparison("runs/a", "runs/b"), said)
        job.cancel("Stopped before it started.")
        job.run()
        assert said == ["Stopped before it started."] and env.standin.of("chat.postMessage") == []


def test_an_internal_error_says_nothing_of_the_internals(tmp_path):
    with digest_env(tmp_path) as env:
        def boom() -> None:
            raise RuntimeError("secret /etc/passwd")

        said: list[str] = []
        _job(env, Pipeline(env, before=boom), Comparison("runs/a", "runs/b"), said).run()
        assert said == ["The comparison failed: an internal error (details are in the bot's log)"]
        assert "passwd" not in env.standin.of("chat.update")[-1].params["text"]


# --- a comparison is a task of the durable queue (`CompareTasks`) ---------------------------------
def _compare_services(env: DigestEnv) -> Any:
    """What `CompareTasks` reads from `Services`: the pipeline, Slack, the retry sleep."""
    return SimpleNamespace(pipeline=Pipeline(env), poster=env.ops, sleep=lambda _s: None)


def _left_by_a_dead_replica(env: DigestEnv, *, posted: bool) -> Task:
    """A comparison a replica claimed (and, when ``posted``, showed in a placeholder it never
    recorded) before it died."""
    payload = {**Comparison("runs/a", "runs/b").to_payload(), "channel": "C0001", "user": "U0001",
               "response_url": None}
    queued = env.store.tasks.enqueue(kind="compare", key="compare:C0001:1700000000.000001", payload=payload,
                                     channel="C0001")
    assert queued is not None
    claimed = env.store.tasks.claim(kinds=["compare"], owner="dead", lease_s=300)
    assert claimed is not None and claimed.id == queued.id
    if posted:
        env.ops.post(channel="C0001", text="comparing… (the dead replica's placeholder)", marker=queued.key)
    env.store.tasks.expire_owner("dead")  # its lease ran out
    return queued


def test_a_comparison_taken_over_from_a_dead_replica_finishes_in_its_message(tmp_path):
    with digest_env(tmp_path) as env:
        write_synth(env.root, "runs/a", archive=0)
        write_synth(env.root, "runs/b", archive=1, throughput_factor={"qwen2.5:14b": 0.5})
        _left_by_a_dead_replica(env, posted=True)
        taken = env.store.tasks.claim(kinds=["compare"], owner="heir", lease_s=300)
        assert taken is not None and taken.previous_owner == "dead"
        outcome = CompareTasks(_compare_services(env)).run(Lease(taken, tasks=env.store.tasks, owner="heir"))
        (placeholder,) = env.standin.of("chat.postMessage")  # found again by its key: not posted twice
        ts = placeholder.response["ts"]
        assert outcome == {"result": "delivered", "parent_ts": ts}
        updates = env.standin.of("chat.update")
        assert "resuming…" in updates[0].params["text"] and updates[-1].params["ts"] == ts
        assert updates[-1].params["text"].startswith("Comparison of runs/b with runs/a: ")
        assert env.standin.of("files.completeUploadExternal")[0].params["thread_ts"] == ts
        assert env.store.tasks.get(taken.id).message_ts == ts


def test_a_comparison_given_up_says_so_in_its_message_and_tells_the_requester(tmp_path):
    with digest_env(tmp_path) as env:
        _left_by_a_dead_replica(env, posted=True)
        assert env.store.tasks.claim(kinds=["compare"], owner="dead-too", lease_s=300) is not None  # killed again
        env.store.tasks.expire_owner("dead-too")
        task = env.store.tasks.claim(kinds=["compare"], owner="heir", lease_s=300)  # one claim too many
        assert task is not None and task.attempt == 3
        CompareTasks(_compare_services(env)).give_up(task, "the bot stopped while working on it")
        (update,) = env.standin.of("chat.update")
        assert update.params["ts"] == env.standin.of("chat.postMessage")[0].response["ts"]
        assert "was interrupted (the bot stopped while working on it)" in update.params["text"]
        assert "`/chimera compare runs/a runs/b`" in update.params["text"]
        (told,) = env.standin.of("chat.postEphemeral")
        assert told.params["user"] == "U0001" and told.params["text"] == update.params["text"]


def test_a_comparison_handed_back_at_shutdown_says_it_will_continue_and_delivers_nothing(tmp_path):
    with digest_env(tmp_path) as env:
        write_synth(env.root, "runs/a", archive=0)
        write_synth(env.root, "runs/b", archive=1)
        payload = {**Comparison("runs/a", "runs/b").to_payload(), "channel": "C0001", "user": "U0001"}
        assert env.store.tasks.enqueue(kind="compare", key="compare:x", payload=payload, channel="C0001")
        claimed = env.store.tasks.claim(kinds=["compare"], owner="me", lease_s=300)
        assert claimed is not None
        lease = Lease(claimed, tasks=env.store.tasks, owner="me")
        services = _compare_services(env)
        handler = CompareTasks(services)
        services.pipeline.before = lambda: lease.cancel(announce=lambda: handler.interrupt(lease))  # SIGTERM now
        assert handler.run(lease) == {"result": "handed back"}
        (update,) = env.standin.of("chat.update")
        assert "will continue in a moment, here" in update.params["text"]
        assert env.standin.of("files.getUploadURLExternal") == [] and env.standin.of("chat.postEphemeral") == []
