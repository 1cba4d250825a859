"""Nothing blocks a listener (issue 12, item 4).

Attack: `/chimera status` (and `@Chimera status`) against an Ollama that accepts connections and
never answers (the stand-in's stall mode), several at once. Expected: every command is still
acknowledged while the checks hang — none of them waits on Ollama on a listener thread — the
stalled Ollama sees one check, not one per request, each status reply says the check did not
answer in time, and /health's readiness reflects a saturated pool.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bot.flows.health import HealthProbe
from bot.flows.jobs import TrackedExecutor
from tests.slack_support import ScriptedRun, http_bot
from tests.standins.ollama_server import OllamaStandIn
from tests.standins.slack_api import BOT_USER_ID


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
        return json.loads(resp.read())


def test_stalled_ollama_checks_never_hold_the_listeners(standin):
    with OllamaStandIn() as ollama:
        ollama.stall()
        run = ScriptedRun()
        with http_bot(standin, run, real_health=True, ollama_host=ollama.host) as bot_:
            bot_.services.probe.wait_s = 0.2  # each status request waits this long for Ollama, at most
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(pool.map(lambda i: bot_.command("status", name=f"status{i}"), range(5)))
            ollama.wait_for_requests("/api/tags")  # the check is in flight, and stalled
            for i in range(3):  # mentions asking for the status: events, handled off the listeners
                mention = {"type": "app_mention", "user": "U0001", "text": f"<@{BOT_USER_ID}> status",
                           "ts": f"1700000010.00000{i}", "channel": "C0001"}
                assert bot_.event(mention, event_id=f"EvStatus{i}")[0] == 200
            # Still stalled: every other command is acknowledged all the same.
            with ThreadPoolExecutor(max_workers=8) as pool:
                others = list(pool.map(bot_.command, ["help"] * 6 + ["analyze a.tar.gz --no-llm"] * 2))
            assert not ollama._state.open.is_set()  # nothing above waited for Ollama to answer
            replies = standin.wait_for(lambda calls: sum(
                c.method == "respond" and "no answer in time" in c.params.get("text", "") for c in calls) >= 5)
            threads = standin.wait_for(lambda calls: sum(
                c.method == "chat.postMessage" and "no answer in time" in c.params.get("text", "")
                for c in calls) >= 3)
            assert health(bot_.url)["status"] == "ok"
            tags_calls = len(ollama.requests_to("/api/tags"))
        ollama.release()
    assert [s[0] for s in statuses] == [200] * 5 and all("Checking" in s[1] for s in statuses)
    assert [o[0] for o in others] == [200] * 8
    assert sum("Chimera Insight" in o[1] for o in others) == 6
    assert sum("Analyzing" in o[1] or "Queued" in o[1] for o in others) == 2
    assert tags_calls == 1  # one check in flight, however many asked
    status_replies = [c for c in replies if c.method == "respond" and "Jobs:" in c.params.get("text", "")]
    assert len(status_replies) == 5 and all(c.params["replace_original"] for c in status_replies)
    assert len([c for c in threads if c.method == "chat.postMessage" and "no answer" in c.params["text"]]) == 3


def test_a_fresh_result_is_reused_and_a_finished_check_is_reported():
    calls: list[int] = []
    release = threading.Event()

    def check() -> str:
        calls.append(1)
        release.wait(10)
        return "Ollama: fine"

    now = [0.0]
    probe = HealthProbe(check, wait_s=0.0, fresh_s=10.0, stall_s=5.0, clock=lambda: now[0])
    assert "no answer in time" in probe.line(deadline=probe.deadline())
    assert "no answer in time" in probe.line(deadline=probe.deadline())  # no second check started
    now[0] = 6.0
    assert probe.stalled
    release.set()
    assert probe.line(deadline=probe.deadline() + 10) == "Ollama: fine"
    assert probe.line(deadline=probe.deadline()) == "Ollama: fine"  # fresh: reused
    assert len(calls) == 1 and not probe.stalled


def test_health_says_not_ready_while_a_pool_is_saturated(standin):
    run = ScriptedRun()
    run.release.clear()
    with http_bot(standin, run, workers=1, max_queue=0) as bot_:
        assert health(bot_.url)["ready"] is True
        bot_.command("analyze a.tar.gz")
        assert run.started.wait(10)
        busy = health(bot_.url)
        assert busy["status"] == "ok" and busy["ready"] is False and busy["saturated"] == ["jobs"]
        run.release.set()
        standin.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls))
        bot_.settle()  # drained: the running job finished
        assert health(bot_.url)["ready"] is True


def test_listener_threads_are_counted():
    executor = TrackedExecutor(workers=2)
    gate = threading.Event()
    started = threading.Barrier(3)
    try:
        futures = [executor.submit(lambda: (started.wait(10), gate.wait(10))) for _ in range(2)]
        started.wait(10)
        assert executor.busy == 2 and executor.saturated
        gate.set()
        for future in futures:
            future.result(10)
        assert executor.busy == 0 and not executor.saturated
    finally:
        gate.set()
        executor.shutdown(wait=True)


def test_an_event_the_side_pool_cannot_take_is_still_answered(standin):
    # The reply key is recorded before the ack, so Slack's redelivery would count as handled: an
    # event the side pool refuses (full or closing) must be answered on the listener thread.
    with http_bot(standin, ScriptedRun()) as bot_:
        bot_.services.side.shutdown(timeout_s=5)
        mention = {"type": "app_mention", "user": "U0001", "text": f"<@{BOT_USER_ID}> help",
                   "ts": "1700000020.000001", "channel": "C0001"}
        assert bot_.event(mention, event_id="EvHelpSideClosed")[0] == 200
        calls = standin.wait_for(lambda calls: any(c.method == "chat.postMessage"
                                                   and "Chimera Insight" in c.params.get("text", "") for c in calls))
    posts = [c for c in calls if c.method == "chat.postMessage" and "Chimera Insight" in c.params.get("text", "")]
    assert len(posts) == 1 and posts[0].params["thread_ts"] == "1700000020.000001"


def test_readiness_stays_up_while_only_the_shared_queue_is_full(standin):
    # "jobs" saturated means the queue all replicas share is full: true of every replica at once,
    # so /health says so but /health/ready keeps the replica in rotation (help, status and the
    # "queue full" reply still need it).
    run = ScriptedRun()
    run.release.clear()
    with http_bot(standin, run, workers=1, max_queue=0) as bot_:
        bot_.services.scheduler.start()
        bot_.command("analyze a.tar.gz")
        assert run.started.wait(10)
        assert health(bot_.url)["saturated"] == ["jobs"]
        with urllib.request.urlopen(f"{bot_.url}/health/ready", timeout=10) as resp:
            ready = json.loads(resp.read())
            code = resp.status
        run.release.set()
    assert code == 200 and ready["saturated"] == ["jobs"] and ready["checks"]["pools"] is True
