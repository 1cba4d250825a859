"""The ports: what the flows need from the outside world, as small Protocols.

The flows (analysis job, thread answer, digest, pipeline) are written against these; the adapters
in `bot.adapters` implement them (Ollama, the Slack Web API, archive storage, the database) and
`bot.app` plugs them in. Tests plug in the same adapters pointed at local stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from bot.core.records import Digest, Run, Subscription
    from bot.core.types import ArchiveRef, ArchiveTree, ChatResult

Progress = Callable[[str], None]


class ChatModel(Protocol):
    """One streamed chat completion (the narrative and thread answers).

    Raises `bot.errors.LLMCallFailed` for every failure; never returns partial content.
    """

    @property
    def model(self) -> str: ...

    @property
    def num_ctx(self) -> int: ...

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        format: Mapping[str, Any] | str | None = None,
        num_predict: int | None = None,
        purpose: str = "narrative",
        on_token: Callable[[int], None] | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> ChatResult: ...


@dataclass(frozen=True)
class Upload:
    """A file for a Slack thread."""

    filename: str
    content: bytes
    title: str


class SlackPoster(Protocol):
    """The Slack Web API calls the flows make; failures raise `bot.errors.SlackCallFailed`."""

    def post(self, *, channel: str, text: str, blocks: Sequence[dict[str, Any]] | None = None,
             thread_ts: str | None = None) -> str: ...

    def update(self, *, channel: str, ts: str, text: str,
               blocks: Sequence[dict[str, Any]] | None = None) -> None: ...

    def ephemeral(self, *, channel: str, user: str, text: str) -> None: ...

    def upload(self, *, channel: str, thread_ts: str, files: Sequence[Upload]) -> None: ...

    def thread_messages(self, *, channel: str, thread_ts: str) -> list[Mapping[str, Any]]:
        """The thread's messages, oldest first; an unreadable thread is an empty list."""
        ...


class ArchiveSource(Protocol):
    """Where archives live (the configured storage roots)."""

    def open(self, target: str, *, allow_local_paths: bool = False) -> AbstractContextManager[ArchiveTree]:
        """The archive as a local tree (scratch removed on exit); raises `bot.errors.ArchiveError`."""
        ...

    def list(self, prefix: str) -> list[ArchiveRef]: ...


class Runs(Protocol):
    def create_run(self, *, archive: str, trigger: str, channel: str | None = None,
                   thread_ts: str | None = None, parent_ts: str | None = None,
                   user: str | None = None) -> Run: ...

    def claim_run_key(self, key: str, *, archive: str, trigger: str, channel: str | None = None,
                      thread_ts: str | None = None, parent_ts: str | None = None,
                      user: str | None = None) -> Run | None: ...

    def start_run(self, run_id: int) -> Run: ...

    def finish_run(self, run_id: int, *, status: str, error: str | None = None, facts: Any = None,
                   timings: Any = None, summary: Any = None, report_md: str | None = None,
                   measurements: pd.DataFrame | None = None) -> Run: ...

    def set_run_thread(self, run_id: int, *, channel: str, parent_ts: str) -> Run: ...

    def get_run(self, run_id: int) -> Run | None: ...

    def run_for_thread(self, *, channel: str, thread_ts: str) -> Run | None: ...

    def load_measurements(self, run_id: int) -> pd.DataFrame: ...

    def fail_stale_runs(self, *, before: datetime, error: str) -> list[Run]: ...


class Events(Protocol):
    def mark_event_seen(self, event_id: str, *, run_id: int | None = None) -> bool: ...

    def prune_events(self, *, before: datetime) -> int: ...


class Subscriptions(Protocol):
    def add_subscription(self, *, channel: str, schedule: str, trigger: dict[str, Any], timezone: str,
                         prefix: str, quiet_when_nothing_new: bool = False,
                         created_by: str | None = None, max_per_channel: int | None = None) -> Subscription:
        """Raises `bot.errors.LimitReached` when ``max_per_channel`` would be exceeded (atomic)."""
        ...

    def get_subscription(self, subscription_id: int) -> Subscription | None: ...

    def list_subscriptions(self, channel: str | None = None) -> list[Subscription]: ...

    def remove_subscription(self, subscription_id: int, *, channel: str) -> bool: ...


class Digests(Protocol):
    def digested_archives(self, subscription_id: int) -> set[str]: ...

    def claim_digest(self, subscription_id: int, archive: str) -> Digest | None: ...

    def finish_digest(self, digest_id: int, *, status: str, posted_ts: str | None = None,
                      error: str | None = None) -> Digest: ...

    def digest_for_run(self, run_id: int) -> Digest | None: ...

    def previous_digest_runs(self, subscription_id: int, *, limit: int = 10) -> list[Run]: ...


class RunStore(Protocol):
    """The bot's database, by aggregate."""

    @property
    def runs(self) -> Runs: ...

    @property
    def events(self) -> Events: ...

    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def digests(self) -> Digests: ...


class DigestScheduling(Protocol):
    """The digest scheduler: started and stopped by `bot.serve`, told of subscriptions by the
    digest command."""

    def start(self) -> None: ...

    def shutdown(self, *, wait: bool = True) -> None: ...

    def add(self, subscription: Subscription) -> datetime | None: ...

    def remove(self, subscription_id: int) -> bool: ...
