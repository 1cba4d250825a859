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

    from bot.core.records import Digest, Queued, Replica, Run, Subscription, Task
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
             thread_ts: str | None = None, marker: str | None = None) -> str:
        """A new message; ``marker`` tags it (in its metadata) so `find_marked` can find it again."""
        ...

    def find_marked(self, *, channel: str, marker: str, oldest: float, thread_ts: str | None = None) -> str | None:
        """The ts of our message tagged ``marker`` posted since ``oldest`` (epoch seconds), in the
        channel or in ``thread_ts``'s thread; None when there is none (or Slack cannot say)."""
        ...

    def update(self, *, channel: str, ts: str, text: str,
               blocks: Sequence[dict[str, Any]] | None = None) -> None: ...

    def delete(self, *, channel: str, ts: str) -> None:
        """chat.delete of one of our messages."""
        ...

    def ephemeral(self, *, channel: str, user: str, text: str) -> None: ...

    def respond(self, *, response_url: str, text: str) -> None:
        """An ephemeral reply through a slash command's ``response_url`` (valid 30 minutes)."""
        ...

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

    def claim_digest(self, subscription_id: int, archive: str, *, task_id: int | None = None) -> Digest | None: ...

    def digest_for_task(self, task_id: int) -> Digest | None: ...

    def finish_digest(self, digest_id: int, *, status: str, posted_ts: str | None = None,
                      error: str | None = None) -> Digest: ...

    def digest_for_run(self, run_id: int) -> Digest | None: ...

    def previous_digest_runs(self, subscription_id: int, *, limit: int = 10) -> list[Run]: ...


class Tasks(Protocol):
    """The durable work queue shared by every replica (see `bot.adapters.db.tasks`)."""

    def enqueue(self, *, kind: str, key: str, payload: dict[str, Any], channel: str | None = None,
                run: dict[str, Any] | None = None) -> Task | None: ...

    def queue(self, *, kind: str, key: str, payload: dict[str, Any], channel: str | None = None,
              run: dict[str, Any] | None = None, admit: Callable[[int, int], bool] | None = None,
              lane: Sequence[str] = (), announce_s: float | None = None) -> Queued: ...

    def set_ack_message(self, task_id: int, *, ts: str, queued: bool) -> bool: ...

    def clear_ack_wait(self, task_id: int) -> bool: ...

    def line(self, kinds: Sequence[str]) -> tuple[list[int], int]: ...

    def claim(self, *, kinds: Sequence[str], owner: str, lease_s: float) -> Task | None: ...

    def heartbeat(self, *, owner: str, lease_s: float) -> int: ...

    def set_message(self, task_id: int, *, owner: str, attempt: int, channel: str, ts: str) -> bool: ...

    def set_run(self, task_id: int, *, owner: str, attempt: int, run_id: int) -> bool: ...

    def holds(self, task_id: int, *, owner: str, attempt: int) -> bool: ...

    def finish(self, task_id: int, *, owner: str, attempt: int, state: str, error: str | None = None,
               outcome: dict[str, Any] | None = None) -> bool: ...

    def release(self, task_id: int, *, owner: str, attempt: int) -> bool: ...

    def running_owners(self) -> set[str]: ...

    def expire_owner(self, owner: str) -> int: ...

    def get(self, task_id: int) -> Task | None: ...

    def by_key(self, key: str) -> Task | None: ...

    def counts(self, kind: str | Sequence[str]) -> dict[str, int]: ...

    def prune(self, *, before: datetime) -> int: ...


class Replicas(Protocol):
    def beat(self, replica_id: str, *, host: str, pid: int, workers: int) -> None: ...

    def stop(self, replica_id: str) -> None: ...

    def live(self, *, within_s: float) -> list[Replica]: ...

    def prune(self, *, before: datetime) -> int: ...


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

    @property
    def tasks(self) -> Tasks: ...

    @property
    def replicas(self) -> Replicas: ...

    def ping(self) -> dict[str, Any]:
        """{'reachable': bool, 'pool_in_use': int, 'pool_capacity': int, ...} for readiness."""
        ...

    def waiting_at_most(self, seconds: float) -> AbstractContextManager[None]:
        """Writes in the block wait at most ``seconds`` for the database's write lock, then raise
        `StoreError` (a listener answers Slack within 3 s whoever holds the lock)."""
        ...


class DigestScheduling(Protocol):
    """The digest scheduler: started and stopped by `bot.serve`, told of subscriptions by the
    digest command."""

    def start(self) -> None: ...

    @property
    def running(self) -> bool: ...

    def shutdown(self, *, wait: bool = True) -> None: ...

    def add(self, subscription: Subscription) -> datetime | None: ...

    def remove(self, subscription_id: int) -> bool: ...
