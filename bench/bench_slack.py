"""Slack layer under load, loopback only: 20 `/chimera analyze` commands in flight at once.

Prints ack latency p50/p99 (signed HTTP request -> Bolt ack) and the time from command to the
first parent message (chat.postMessage arriving at the Web API stand-in). The analysis itself is
a scripted stand-in taking ~50 ms, so the figures are the bot's own overhead, queueing included.

    .venv/bin/python bench/bench_slack.py [--commands 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    args, _ = parser.parse_known_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" notes are expected here
    n = args.commands
    with SlackApiStandin() as api, http_bot(api, SlowRun(), workers=args.workers, max_queue=n) as bot:
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
        first_post: dict[int, float] = {}
        for call in api.of("chat.postMessage"):
            text = call.params["text"]
            i = int(text.split("run-", 1)[1].split(".", 1)[0])
            first_post.setdefault(i, call.at)
    ack_ms = [v * 1000 for v in acks.values()]
    to_post_ms = [(first_post[i] - sent[i]) * 1000 for i in range(n)]
    print(f"bench_slack: {n} commands in flight, {args.workers} workers (loopback stand-ins)")
    print(f"  ack latency          p50 {pct(ack_ms, 0.5):7.1f} ms   p99 {pct(ack_ms, 0.99):7.1f} ms"
          f"   max {max(ack_ms):7.1f} ms")
    print(f"  command -> parent    p50 {pct(to_post_ms, 0.5):7.1f} ms   p99 {pct(to_post_ms, 0.99):7.1f} ms"
          f"   (includes waiting for a free worker)")
    print(f"  mean ack {statistics.mean(ack_ms):.1f} ms; all acks under 3 s: {max(ack_ms) < 3000}")


if __name__ == "__main__":
    main()
