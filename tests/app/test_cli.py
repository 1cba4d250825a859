"""`chimera analyze` on small archives: outputs, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.golden import stable_report
from tests.ingest_support import write_tree
from tests.paths import REPO_ROOT

CSV = ("model,ttft_s,tokens_s,load_s,eval_count,error\nm:1b,0.1,50,0.05,100,\nm:1b,0.12,52,0.05,100,\n"
       "m:1b,0,0,0,0,boom\n")


def _tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_analyze_tarball_writes_report_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = _tarball(tmp_path / "nightly.tar.gz", {"run/results.csv": CSV})
    code = main(["analyze", str(archive), "--out", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json")])
    assert code == 0
    data = json.loads((tmp_path / "r.json").read_text())
    # the JSON contract only ever adds keys
    assert {k: data["requests"][k] for k in ("total", "succeeded", "failed")} == {"total": 3, "succeeded": 2,
                                                                                  "failed": 1}
    assert data["models"][0]["throughput_tok_s"]["median"] == 51.0
    report = (tmp_path / "r.md").read_text()
    # Ollama is unreachable in tests (conftest): the report says why the narrative is missing
    assert "Narrative not available" in report and "unreachable" in report
    err = capsys.readouterr().err
    assert "fetched" in err and "narrative failed" in err


@pytest.mark.parametrize("collecting", [True, False])
def test_analyze_gives_the_caller_its_garbage_collector_state_back(tmp_path: Path, collecting: bool) -> None:
    """`chimera analyze` turns the cyclic collector off while it imports; a caller's state is kept."""
    import gc

    archive = _tarball(tmp_path / "a.tar.gz", {"run/results.csv": CSV})
    (gc.enable if collecting else gc.disable)()
    try:
        assert main(["analyze", str(archive), "--no-llm", "--quiet", "--out", str(tmp_path / "r.md")]) == 0
        assert gc.isenabled() is collecting
    finally:
        gc.enable()


def test_analyze_name_inside_storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path / "storage" / "nightly" / "2025-11-14", {"results.csv": CSV})
    monkeypatch.setenv("STORAGE_ROOTS", str(tmp_path / "storage"))
    assert main(["analyze", "nightly/2025-11-14", "--no-llm", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Benchmark report: nightly/2025-11-14")
    assert "Narrative skipped" in out


@pytest.mark.parametrize("target, message", [
    ("does/not/exist", "No archive named"),
    ("broken.tar.gz", "not a readable"),
])
def test_bad_target_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        target: str, message: str) -> None:
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    code = main(["analyze", str(tmp_path / target) if target.endswith("gz") else target, "--no-llm"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("chimera: ") and message in err[0]


def test_invalid_setting_is_reported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_MODE", "carrier-pigeon")
    assert main(["analyze", "x"]) == 2
    assert "invalid settings" in capsys.readouterr().err


@pytest.mark.parametrize("env, message", [
    ({}, "SLACK_BOT_TOKEN is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_MODE": "http"}, "SLACK_SIGNING_SECRET is required"),
    ({"SLACK_BOT_TOKEN": "xoxb-test"}, "SLACK_APP_TOKEN"),
])
def test_serve_says_what_is_missing_before_starting_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert main(["serve"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite3").exists()  # no database opened, no worker started


def test_archive_text_cannot_hide_the_rest_of_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = ("model,ttft_s,tokens_s,error\n<!-- m:1b,0.1,50,\n<!-- m:1b,0,0,boom <!-- |x| \n")
    archive = _tarball(tmp_path / "a.tar.gz", {"r.csv": csv})
    assert main(["analyze", str(archive), "--no-llm", "--quiet"]) == 0
    report = capsys.readouterr().out
    assert "<!--" not in report and "&lt;!-- m:1b" in report
    assert "## Files" in report  # everything after the tables still renders


def test_compare_two_archives_writes_the_news_report_and_json(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tests.digest_support import write_synth

    write_synth(tmp_path, "a", archive=0)
    write_synth(tmp_path, "b", archive=1, throughput_factor={"qwen2.5:14b": 0.5})
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json", str(tmp_path / "news.json")])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"# Comparison: {tmp_path / 'b'} vs {tmp_path / 'a'}")
    assert "**CRITICAL regression** · qwen2.5:14b" in captured.out
    assert "Critical regression: qwen2.5:14b Throughput −" in captured.err
    doc = json.loads((tmp_path / "news.json").read_text())
    assert doc["worst"] == "critical" and doc["compared"] == 12
    assert {(i["kind"], i["model"]) for i in doc["items"]} == {("regression", "qwen2.5:14b")}


def test_compare_two_configurations_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.digest_support import write_synth

    write_synth(tmp_path, "a", archive=0)
    assert main(["compare", str(tmp_path / "a"), "--configs", "num_ctx=2048", "num_ctx=8192"]) == 0
    assert "[num_ctx=8192] vs " in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "a")]) == 2
    assert main(["compare", str(tmp_path / "a"), "--configs", "num_ctx", "num_ctx=8192"]) == 2
    assert "is not key=value" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "nope")]) == 1


def test_serve_without_the_postgres_driver_stops_with_one_line_naming_the_extra(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)  # the 'postgres' extra is not installed
    for name, value in {"SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                        "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
                        "DATABASE_URL": "postgres://chimera:secret@127.0.0.1:1/chimera"}.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("chimera:")]
    assert err == ["chimera: DATABASE_URL is a postgresql database but its driver is not installed: "
                   "pip install 'chimera-insight[postgres]'"]


_AS_A_PROCESS = """
import atexit, concurrent.futures, sys
atexit.register(lambda: print("atexit handlers ran", file=sys.stderr))
POOL = concurrent.futures.ThreadPoolExecutor(1)  # kept: its idle worker stops in threading's exit callbacks
POOL.submit(int)
from bot.cli import main
raise SystemExit(main())
"""


def _as_a_process(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``chimera`` run as its own process (`main()` with the process's command line)."""
    work = tmp_path / "work"
    return subprocess.run([sys.executable, "-c", _AS_A_PROCESS, *args], capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": "", "PYTHONPATH": str(REPO_ROOT), "WORK_DIR": str(work),
                                             "STORAGE_ROOTS": str(tmp_path)}, check=False, timeout=120)


def test_analyze_as_a_process_ends_it_with_everything_written_and_removed(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`chimera analyze` ends its own process without the interpreter's teardown (`bot.cli._exit`): the
    report on stdout is whole, the scratch removal finished, a thread pool stopped, atexit handlers ran,
    the exit code kept."""
    archive = _tarball(tmp_path / "a.tar.gz", {"run/results.csv": CSV})
    done = _as_a_process(tmp_path, "analyze", str(archive), "--no-llm", "--quiet")
    assert done.returncode == 0, done.stderr
    assert main(["analyze", str(archive), "--no-llm", "--quiet"]) == 0  # in process: returns, as before
    assert stable_report(done.stdout) == stable_report(capsys.readouterr().out)
    assert done.stderr == "atexit handlers ran\n"
    assert list((tmp_path / "work").iterdir()) == []

    failed = _as_a_process(tmp_path, "analyze", str(tmp_path / "missing.tar.gz"), "--no-llm")
    assert failed.returncode == 1
    assert failed.stderr.startswith("chimera: ") and failed.stderr.endswith("atexit handlers ran\n")


def test_analyze_as_a_process_with_its_outputs_closed_or_full(tmp_path: Path) -> None:
    """Closed or failing standard streams: an exit code and a line that says so, never a traceback
    (review: the process's own ending called .flush() on a None stdout and failed with rc 1)."""
    archive = _tarball(tmp_path / "a.tar.gz", {"run/results.csv": CSV})
    env = {"PATH": "", "PYTHONPATH": str(REPO_ROOT), "WORK_DIR": str(tmp_path / "work"), "STORAGE_ROOTS": str(tmp_path)}

    def run(*args: str, **streams: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-c", _AS_A_PROCESS, "analyze", str(archive), "--no-llm", *args],
                              cwd=tmp_path, env=env, check=False, timeout=120, **streams)

    closed_stdout = run("--out", str(tmp_path / "r.md"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        preexec_fn=lambda: os.close(1))
    assert closed_stdout.returncode == 0, closed_stdout.stderr
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# Benchmark report")
    closed_stderr = run("--out", str(tmp_path / "r2.md"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        preexec_fn=lambda: os.close(2))
    assert closed_stderr.returncode == 0 and (tmp_path / "r2.md").exists()
    no_stdout_for_the_report = run("--quiet", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   preexec_fn=lambda: os.close(1))
    assert no_stdout_for_the_report.returncode == 1
    assert b"chimera: standard output is closed: pass --out FILE for the report" in no_stdout_for_the_report.stderr
    assert b"Traceback" not in no_stdout_for_the_report.stderr
    if os.path.exists("/dev/full"):
        with open("/dev/full", "wb") as full:
            lost = run("--quiet", stdout=full, stderr=subprocess.PIPE)
        # a small report is still in the buffer when the process ends: the interpreter's status (120)
        assert lost.returncode == 120, lost.stderr
        assert b"chimera: the output could not be written: [Errno 28] No space left on device" in lost.stderr


def test_a_lone_surrogate_is_written_as_a_replacement_character(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON "\\ud800" escape is kept as read, but UTF-8 cannot encode it: the report is still written
    (the character as U+FFFD) and printed, not a crash (found in review, round 8)."""
    results = '{"model": "x\\ud800y:1b", "results": [{"ttft_ms": 90.5, "tokens_s": 280.0}]}'
    archive = _tarball(tmp_path / "a.tar.gz", {"runs/r.json": results})
    assert main(["analyze", str(archive), "--no-llm", "--quiet", "--out", str(tmp_path / "r.md")]) == 0
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "x\ufffdy" in report and "\ud800" not in report
    assert main(["analyze", str(archive), "--no-llm", "--quiet"]) == 0
    assert "x\ufffdy" in capsys.readouterr().out


def test_compare_writes_a_lone_surrogate_as_a_replacement_character_and_drops_bidi_controls(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The comparison report ends as the analysis report does (review of round 8: `compare` crashed on
    a model name holding a JSON "\\ud800" escape, and kept a right-to-left override)."""
    for name, tokens in (("a", 280.0), ("b", 140.0)):
        write_tree(tmp_path / name, {f"runs/r{i}.json": json.dumps(
            {"model": "x\\ud800y\u202e:1b", "results": [{"ttft_ms": 90.5 + i, "tokens_s": tokens + i}]},
            ensure_ascii=False).replace("\\\\ud800", "\\ud800") for i in range(5)})
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "news.md")]) == 0
    report = (tmp_path / "news.md").read_text(encoding="utf-8")
    assert "x\ufffdy:1b" in report and "\u202e" not in report
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "x\ufffdy:1b" in capsys.readouterr().out
