"""Every bad setting is a one-line error at start-up, naming the setting (issue 12, item 6).

Attack: values that used to end in a traceback (or started silently): not numbers, out of range,
an unknown log level, a host that is not a URL, a port already taken. Expected: exit code 2 and
exactly one line on stderr, naming the setting, for `chimera analyze`, `doctor` and `serve` alike,
and never echoing the value (it may be a secret).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.cli import main


@pytest.mark.parametrize("name, value", [
    ("HTTP_PORT", "abc"),
    ("HTTP_PORT", "70000"),
    ("WORKERS", "0"),
    ("MAX_QUEUE", "-1"),
    ("MAX_FILE_BYTES", "-5"),
    ("MAX_REQUEST_BYTES", "10"),
    ("OLLAMA_TIMEOUT_S", "0"),
    ("OLLAMA_NUM_CTX", "lots"),
    ("OLLAMA_TOP_P", "2"),
    ("LOG_LEVEL", "chatty"),
    ("OLLAMA_HOST", "ftp://user:pw@somewhere"),
    ("OLLAMA_HOST", "http://host:port"),
    ("SLACK_API_URL", "not a url"),
    ("SLACK_MODE", "carrier-pigeon"),
    ("DIGEST_USE_LLM", "perhaps"),
])
@pytest.mark.parametrize("command", [["doctor"], ["analyze", "x", "--no-llm"], ["serve"]])
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, capsys, tmp_path: Path, name, value, command):
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert main(command) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"chimera: invalid settings: {name}:"), err[0]
    assert "user:pw" not in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "bot.sqlite3").exists()  # nothing was started


def test_several_bad_settings_are_still_one_line(monkeypatch, capsys):
    monkeypatch.setenv("WORKERS", "0")
    monkeypatch.setenv("HTTP_PORT", "x")
    assert main(["doctor"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "HTTP_PORT" in line and "WORKERS" in line


def test_serve_on_a_port_that_is_taken_is_one_line(monkeypatch, capsys, tmp_path: Path, standin):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for name, value in {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "SLACK_MODE": "http",
                            "SLACK_API_URL": standin.api_url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
                            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
                            "STORAGE_ROOTS": str(tmp_path)}.items():
            monkeypatch.setenv(name, value)
        assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("chimera: cannot listen on HTTP_HOST=127.0.0.1 HTTP_PORT=")
    assert not any("Traceback" in line for line in err)
