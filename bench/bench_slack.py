"""Slack layer under load, loopback only: 20 `/chimera analyze` commands in flight at once.

Per run: ack latency (signed HTTP request -> Bolt's ack) and the time from the command to its
parent message (its chat.postMessage arriving at the Web API stand-in), p50 and p99 over the
commands; then the medians of those over ``--runs`` runs (each a fresh bot: SQLite database, 4
workers, the side pool). The analysis itself is a scripted stand-in taking ~50 ms, so the figures
are the bot's own overhead. The parent is posted right after the ack (`bot.flows.announce`), so
the command -> parent time no longer includes waiting for a free worker. Each run also checks
that every command got exactly one parent, and reports the most edits one message got within one
second, the summary aside (the progress throttle and the queue position allow one each per
second; the worker saying it started is a third).

    .venv/bin/python bench/bench_slack.py [--commands 20] [--workers 4] [--runs 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: tests/ helpers

from tests.slack_support import ScriptedRun, http_bot
from tests.standins.slack_api import SlackApiStandin


class SlowRun(ScriptedRun):
    def run(self, target, **kwargs):  # type: ignore[no-untyped-def, override]
        time.sleep(0.05)
        return super().run(target, **kwargs)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def one_run(n: int, workers: int) -> dict[str, float]:
    with SlackApiStandin() as api, http_bot(api, SlowRun(), workers=workers, max_queue=n,
                                            clock=time.monotonic) as bot:
        acks: dict[int, float] = {}
        sent: dict[int, float] = {}
        barrier = threading.Barrier(n)

        def fire(i: int) -> None:
            barrier.wait()
            sent[i] = time.monotonic()
            status, _, took = bot.command(f"analyze run-{i}.tar.gz", user=f"U{i:04d}", name=f"c{i}")
            assert status == 200, status
            acks[i] = took

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api.wait_for(lambda calls: sum(c.method == "files.completeUploadExternal" for c in calls) == n,
                     timeout=120)
        bot.settle(timeout=30)
        first_post: dict[int, float] = {}
        parents: dict[int, list[str]] = defaultdict(list)
        for call in api.of("chat.postMessage"):
            if call.params.get("thread_ts") or call.response is None:
                continue
            i = int(call.params["text"].split("run-", 1)[1].split(".", 1)[0])
            first_post.setdefault(i, call.at)
            parents[i].append(str(call.response["ts"]))
        edits: dict[str, list[float]] = defaultdict(list)
        for call in api.of("chat.update"):
            if not call.params.get("blocks"):  # the summary is the last edit, not progress
                edits[call.params["ts"]].append(call.at)
    assert all(len(parents[i]) == 1 for i in range(n)), {i: p for i, p in parents.items() if len(p) != 1}
    ack_ms = [v * 1000 for v in acks.values()]
    to_post_ms = [(first_post[i] - sent[i]) * 1000 for i in range(n)]
    burst = max((sum(1 for u in times if t <= u < t + 1.0) for times in edits.values() for t in times), default=0)
    return {"ack_p50": pct(ack_ms, 0.5), "ack_p99": pct(ack_ms, 0.99), "parent_p50": pct(to_post_ms, 0.5),
            "parent_p99": pct(to_post_ms, 0.99), "ack_max": max(ack_ms), "edits_per_s": burst,
            "parents": statistics.mean(len(parents[i]) for i in range(n))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    args, _ = parser.parse_known_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" notes are expected here
    n = args.commands
    print(f"bench_slack: {n} commands in flight, {args.workers} workers, one process, SQLite, "
          f"loopback stand-ins; {args.runs} runs")
    runs = []
    for r in range(args.runs):
        got = one_run(n, args.workers)
        runs.append(got)
        print(f"  run {r + 1}: ack p50 {got['ack_p50']:6.1f} ms  p99 {got['ack_p99']:6.1f} ms | command -> parent "
              f"p50 {got['parent_p50']:6.1f} ms  p99 {got['parent_p99']:6.1f} ms | parents/command "
              f"{got['parents']:.2f} | most edits of one message within 1 s: {got['edits_per_s']:.0f}")

    def med(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    print(f"  median of {len(runs)} runs: ack latency       p50 {med('ack_p50'):7.1f} ms   "
          f"p99 {med('ack_p99'):7.1f} ms")
    print(f"  median of {len(runs)} runs: command -> parent p50 {med('parent_p50'):7.1f} ms   "
          f"p99 {med('parent_p99'):7.1f} ms   (target p99 <= 300 ms: {med('parent_p99') <= 300})")
    print(f"  every command one parent: {all(run['parents'] == 1 for run in runs)}; "
          f"all acks under 3 s: {max(run['ack_max'] for run in runs) < 3000}")


if __name__ == "__main__":
    main()
