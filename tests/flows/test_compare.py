"""The comparison flow (`bot.flows.compare`) with the real pipeline on archive folders and every Slack
call through the Web API stand-in; the slash command itself is in tests/slack/test_slack_compare.py."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import build_pipeline
from bot.errors import NothingToCompare
from bot.flows.compare import CompareJob, Comparison, compare_news
from bot.flows.pipeline import RunResult
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
