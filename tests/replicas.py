"""Real `chimera serve` processes for the replica tests and the bench (tests/app/test_replicas.py,
bench/bench_replicas.py).

Each replica is an OS process running ``bot.cli.main(["serve"])`` — the function the ``chimera``
console script calls — in HTTP mode, with its own environment, working directory and log file,
talking to the Slack and Ollama stand-ins and the database over loopback. It is SIGKILLed or
SIGTERMed like any process.

Processes come from a multiprocessing *forkserver* that has imported the bot once: a child starts
in milliseconds instead of the ~3 s an interpreter needs to import pandas, matplotlib, Bolt and
SQLAlchemy, which is what makes 40 starts in the simultaneous-start test affordable. Nothing else
is shared: each child sets its own environment and cwd before ``main`` reads its settings, and it
dies with the forkserver (PR_SET_PDEATHSIG), which dies with the test process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.paths import REPO_ROOT
from tests.slack_support import SECRET, RunningBot
from tests.standins.slack_api import SlackApiStandin

_CTX: Any = None
PRELOAD = ["tests.replicas", "bot.cli", "bot.serve", "bot.app", "bot.core.analysis", "bot.render.charts"]


def _context() -> Any:
    """The forkserver context, started once per test session with the bot preloaded."""
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(PRELOAD)
    return _CTX


def _serve(env: dict[str, str], cwd: str, log_path: str, go: Any) -> None:
    """The child: its own environment, cwd and log; then `chimera serve`."""
    with contextlib.suppress(Exception):  # die with the forkserver (Linux)
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the process's own stdout)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    if go is not None:
        go.wait(60)
    from bot.cli import main

    code = main(["serve"])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Interpreter:
    """A replica started the ordinary way — a new interpreter running ``python -m bot.cli serve``
    (what the ``chimera`` script does) — behind the few methods `Replica` uses of a Process."""

    def __init__(self, env: dict[str, str], cwd: str, log_path: str) -> None:
        with open(log_path, "ab") as log:
            self._popen = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=cwd,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self._popen.pid

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()


_LISTENING = re.compile(r"HTTP mode: listening on [\d.]+:(\d+)")


@dataclass
class Replica:
    name: str
    process: Any
    log_path: Path
    standin: SlackApiStandin
    port: int | None = None

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    @property
    def url(self) -> str:
        assert self.port is not None, "not listening yet"
        return f"http://127.0.0.1:{self.port}"

    @property
    def client(self) -> RunningBot:
        """Signed slash commands and events into this replica."""
        return RunningBot(self.url, None, self.standin, None)  # type: ignore[arg-type]  # never settled

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_listening(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log())
            if match:
                self.port = int(match.group(1))
                return self.port
            if not self.process.is_alive():
                raise AssertionError(f"{self.name} exited ({self.process.exitcode}):\n{self.log()[-3000:]}")
            time.sleep(0.02)
        raise AssertionError(f"{self.name} never listened:\n{self.log()[-3000:]}")

    def ready(self) -> tuple[int, dict[str, Any]]:
        """GET /health/ready: (status, body)."""
        try:
            with urllib.request.urlopen(f"{self.url}/health/ready", timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")
        except OSError as err:
            return 0, {"error": str(err)}

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until /health/ready says ready (the database migrated, the runner and scheduler up)."""
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        last: tuple[int, dict[str, Any]] = (0, {})
        while time.monotonic() < deadline:
            last = self.ready()
            if last[0] == 200:
                return
            if not self.process.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"{self.name} not ready (alive={self.process.is_alive()}, last={last}):\n"
                             f"{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs."""
        if self.process.is_alive():
            os.kill(self.pid, signal.SIGKILL)
        self.process.join(10)

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (docker stop) and wait; returns the exit code."""
        if self.process.is_alive():
            os.kill(self.pid, signal.SIGTERM)
        self.process.join(timeout)
        if self.process.is_alive():
            self.kill()
        return self.process.exitcode


@dataclass
class Fleet:
    """Replicas of one bot on one database; everything is killed at the end."""

    root: Path
    standin: SlackApiStandin
    base_env: Mapping[str, str]
    replicas: list[Replica] = field(default_factory=list)

    def env(self, name: str, **overrides: Any) -> dict[str, str]:
        env = {**self.base_env, "REPLICA_HOST": name}
        env.update({k.upper(): str(v) for k, v in overrides.items()})
        return env

    def start(self, name: str, *, go: Any = None, wait: bool = True, interpreter: bool = False,
              **overrides: Any) -> Replica:
        """Start a replica (``go``: a multiprocessing Event it waits for before starting;
        ``interpreter``: a fresh ``python -m bot.cli serve``, imports and all, not a fork)."""
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        log_path = home / f"serve-{len([r for r in self.replicas if r.name == name])}.log"
        env = self.env(name, **overrides)
        process: Any
        if interpreter:
            env["PYTHONPATH"] = str(REPO_ROOT)
            process = _Interpreter(env, str(home), str(log_path))
        else:
            process = _context().Process(target=_serve, args=(env, str(home), str(log_path), go),
                                         name=f"chimera-{name}", daemon=True)
            process.start()
        replica = Replica(name, process, log_path, self.standin)
        self.replicas.append(replica)
        if wait:
            replica.wait_ready()
        return replica

    def event(self) -> Any:
        return _context().Event()

    def stop_all(self) -> None:
        for replica in self.replicas:
            if replica.process.is_alive():
                replica.kill()

    def logs(self) -> str:
        return "\n".join(f"===== {r.name} ({r.log_path.name}) =====\n{r.log()[-4000:]}" for r in self.replicas)


def fleet_env(*, database_url: str, standin: SlackApiStandin, ollama_host: str, storage: Path,
              **overrides: Any) -> dict[str, str]:
    """The environment of every replica: HTTP mode on a free port, the stand-ins, short leases."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8", "TZ": "UTC", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1",
        "SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
        "DATABASE_URL": database_url, "STORAGE_ROOTS": str(storage), "WORK_DIR": "./work",
        "OLLAMA_HOST": ollama_host, "OLLAMA_TIMEOUT_S": "10", "DIGEST_USE_LLM": "false",
        "WORKERS": "2", "MAX_QUEUE": "10", "LOG_LEVEL": "INFO",
        # short leases: a dead replica's work is taken over within ~2 s
        "LEASE_S": "2", "HEARTBEAT_S": "0.5", "TASK_POLL_S": "0.2",
        "INTAKE_RETRY_S": "1", "DATABASE_CONNECT_TIMEOUT_S": "2",
    }
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return env


@contextlib.contextmanager
def fleet(root: Path, *, database_url: str, standin: SlackApiStandin, ollama_host: str, storage: Path,
          **overrides: Any) -> Iterator[Fleet]:
    env = fleet_env(database_url=database_url, standin=standin, ollama_host=ollama_host, storage=storage,
                    **overrides)
    made = Fleet(root, standin, env)
    try:
        yield made
    except BaseException:
        sys.stderr.write(made.logs() + "\n")
        raise
    finally:
        made.stop_all()
