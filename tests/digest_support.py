"""Test support for digests: real archive folders written from `tests.synth` data, and a digest
environment (real SQLite file, real pipeline, Slack Web API stand-in over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bot.adapters.archives import StorageArchives
from bot.adapters.db import Store, open_store
from bot.adapters.scheduler import DigestScheduler
from bot.adapters.slack import SlackOps, build_web_client
from bot.app import build_pipeline, build_runner, build_scheduler
from bot.flows.digest import DigestPorts
from bot.flows.tasks import TaskRunner
from bot.settings import Settings
from tests.factories import make_settings
from tests.standins.slack_api import SlackApiStandin
from tests.synth import synth_archive


def write_archive(root: Path, name: str, frame: pd.DataFrame) -> Path:
    """Write ``frame`` (tidy, as `synth_archive` returns it) as a per-request CSV inside the
    archive folder ``root/name`` — the shape a benchmark script writes: one row per request with
    model, num_ctx, throughput, TTFT and an error column (failed requests stored as zeros)."""
    wide = frame.pivot_table(index=["request_id", "model", "config", "error"], columns="metric",
                             values="value", sort=True).reset_index()
    wide["num_ctx"] = wide["config"].str.extract(r"num_ctx=(\d+)", expand=False)
    folder = root / name
    folder.mkdir(parents=True)
    wide[["model", "num_ctx", "throughput_tok_s", "ttft_ms", "error"]].to_csv(
        folder / "results.csv", index=False)
    return folder


def write_synth(root: Path, name: str, *, seed: int = 11, archive: int = 0, **kwargs: Any) -> Path:
    return write_archive(root, name, synth_archive(seed, archive=archive, **kwargs))


def digest_settings(tmp_path: Path, standin: SlackApiStandin, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test", "slack_api_url": standin.api_url,
        "storage_roots": [str(tmp_path / "storage")], "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "digest_use_llm": False, "work_dir": tmp_path / "work",
        "task_poll_s": 0.1, "heartbeat_s": 0.5, "lease_s": 5.0,
    }
    values.update(overrides)
    return make_settings(**values)


@dataclass
class DigestEnv:
    settings: Settings
    store: Store
    ops: SlackOps
    standin: SlackApiStandin
    root: Path

    @property
    def ports(self) -> DigestPorts:
        """What a digest needs, real: this store, the storage roots, the stand-in, the pipeline."""
        return DigestPorts(store=self.store, archives=StorageArchives(self.settings), poster=self.ops,
                           pipeline=build_pipeline(self.settings), use_llm=self.settings.digest_use_llm)

    def scheduler(self) -> tuple[DigestScheduler, TaskRunner]:
        """A scheduler and the task runner its fires go to (not started), with their own store
        connection, like another bot process would have."""
        store = open_store(self.settings.database_url)
        runner = build_runner(self.settings, store=store, workers={"digest": 2})
        return build_scheduler(self.settings, store=store, runner=runner), runner

    def subscribe(self, *, prefix: str = "nightly", quiet: bool = False, schedule: str = "daily 09:00",
                  tz: str = "UTC", channel: str = "C0DIGEST") -> Any:
        from bot.core.schedules import parse_schedule

        spec = parse_schedule(schedule, prefix=prefix, timezone=tz)
        return self.store.subscriptions.add_subscription(channel=channel, schedule=spec.schedule,
                                           trigger=spec.trigger_fields(), timezone=spec.timezone,
                                           prefix=prefix, quiet_when_nothing_new=quiet)

    def posts(self, channel: str = "C0DIGEST") -> list[Any]:
        return [c for c in self.standin.of("chat.postMessage") if c.params.get("channel") == channel]

    def top_posts(self, channel: str = "C0DIGEST") -> list[Any]:
        return [c for c in self.posts(channel) if not c.params.get("thread_ts")]


@contextmanager
def digest_env(tmp_path: Path, *, database_url: str | None = None, **overrides: Any) -> Iterator[DigestEnv]:
    """``database_url``: the tests' `database_url` fixture (both backends); default a SQLite file."""
    if database_url is not None:
        overrides["database_url"] = database_url
    root = tmp_path / "storage"
    root.mkdir(exist_ok=True)
    with SlackApiStandin() as standin:
        settings = digest_settings(tmp_path, standin, **overrides)
        store = open_store(settings.database_url)
        try:
            yield DigestEnv(settings, store, SlackOps(build_web_client(settings)), standin, root)
        finally:
            store.close()


def message_text(call: Any) -> str:
    """Everything a person would read in a posted message: text plus every block's text."""
    import json

    params = call.params
    blocks = params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    parts = [str(params.get("text", ""))]
    for block in blocks:
        if "text" in block:
            parts.append(str(block["text"].get("text", "")))
        for item in block.get("fields", []) + block.get("elements", []):
            parts.append(str(item.get("text", "")))
    return "\n".join(parts)
