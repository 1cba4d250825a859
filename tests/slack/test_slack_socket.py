"""Socket Mode through `bot.serve.serve` against a local WebSocket stand-in, and the real pipeline
end to end (HTTP mode) on a small archive built here."""

from __future__ import annotations

import io
import json
import socket
import tarfile
import threading
import urllib.request

from bot.app import build_services
from bot.serve import serve
from tests.clocks import StepClock
from tests.slack_support import ScriptedRun, bot_settings, http_bot
from tests.standins.slack_api import SlackApiStandin, SocketModeStandin


def test_socket_mode_slash_command_is_acked_and_posted():
    with SlackApiStandin() as api, SocketModeStandin() as ws:
        api.ws_url = ws.url
        with socket.socket() as probe:  # a free port for the probes (Socket Mode opens no other)
            probe.bind(("127.0.0.1", 0))
            health_port = probe.getsockname()[1]
        settings = bot_settings(api, slack_mode="socket", slack_signing_secret=None, health_port=health_port)
        services = build_services(settings, pipeline=ScriptedRun(), health=lambda: "ok", clock=StepClock(1.0))
        stop = threading.Event()
        runner = threading.Thread(target=serve, kwargs={"settings": settings, "services": services,
                                                        "stop": stop, "grace_s": 2}, daemon=True)
        runner.start()
        try:
            api.wait_for(lambda calls: any(c.method == "apps.connections.open" for c in calls))
            ws.deliver({
                "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                "payload": {"token": "legacy", "team_id": "T0001", "channel_id": "C0001",
                            "channel_name": "benchmarks", "user_id": "U0001", "command": "/chimera",
                            "text": "analyze nightly.tar.gz", "api_app_id": "A0001",
                            "response_url": api.response_url(), "trigger_id": "1.2.3"},
            })
            ack = ws.wait_for_ack("env-1")
            assert "Analyzing `nightly.tar.gz`" in ack["payload"]["text"]
            calls = api.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls))
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/health/ready", timeout=5) as resp:
                ready = json.loads(resp.read())
            assert ready["status"] == "ready" and ready["checks"]["scheduler"] is True
        finally:
            stop.set()
            runner.join(timeout=10)
        assert not runner.is_alive()
        connect_token = api.of("apps.connections.open")[0].headers.get("Authorization")
        assert connect_token == "Bearer xapp-test"
        posts = [c for c in calls if c.method == "chat.postMessage"]
        assert len(posts) == 1 and posts[0].params["channel"] == "C0001"


CSV = (
    "timestamp,model,ttft_s,tokens_s,load_s,prompt_eval_s,eval_s,prompt_eval_count,eval_count,error\n"
    "2025-11-14T10:00:00,gemma3:270m,0.12,290.0,0.01,0.02,0.4,20,120,\n"
    "2025-11-14T10:00:01,gemma3:270m,0.10,292.0,0.01,0.02,0.4,20,118,\n"
    "2025-11-14T10:00:02,gemma3:270m,0.11,288.0,0.01,0.02,0.4,20,121,\n"
    "2025-11-14T10:00:03,llama3.1:8b,0.30,46.0,0.02,0.05,2.5,20,115,\n"
    "2025-11-14T10:00:04,llama3.1:8b,0.31,47.0,0.02,0.05,2.4,20,117,\n"
    "2025-11-14T10:00:05,llama3.1:8b,0,0,0,0,0,20,0,timeout\n"
)


def _make_archive(root):
    root.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = CSV.encode()
        info = tarfile.TarInfo("nightly/results.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (root / "nightly-2025-11-14.tar.gz").write_bytes(buf.getvalue())


def test_real_pipeline_end_to_end(tmp_path):
    _make_archive(tmp_path / "storage")
    with SlackApiStandin() as api, http_bot(api, None, storage_roots=[str(tmp_path / "storage")],
                                            work_dir=tmp_path / "work", ollama_host="http://127.0.0.1:9") as bot_:
        status, body, _ = bot_.command("analyze nightly-2025-11-14.tar.gz --no-llm")
        # a 200 carrying the ack's text: acked within Bolt's (and Slack's) 3 s
        assert status == 200 and "Analyzing `nightly-2025-11-14.tar.gz`" in body
        api.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls), timeout=20)
        # a name outside the storage roots is refused with a user-facing message, no upload
        bot_.command("analyze ../../etc/passwd", name="escape")
        api.wait_for(lambda calls: any(c.method == "respond" for c in calls), timeout=20)
    summary = next(u for u in api.of("chat.update") if u.params.get("blocks"))
    fields = " ".join(f["text"] for f in summary.params["blocks"][1]["fields"])
    assert "*290.0 tok/s*\ngemma3:270m" in fields  # median of the three good gemma3 rows
    assert "*Failed requests*\n*1*" in fields  # the timeout row is counted, never averaged in
    report = api.of("upload")[0].body.decode()
    assert "gemma3:270m" in report and "llama3.1:8b" in report
    assert api.of("respond")[0].params["response_type"] == "ephemeral"
    assert len(api.of("files.completeUploadExternal")) == 1
    assert json.loads(api.of("files.completeUploadExternal")[0].params["files"])[0]["title"].startswith("Report")
