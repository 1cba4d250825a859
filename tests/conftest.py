"""Shared fixtures. Stand-ins for outside services live in tests/standins/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from tests.paths import REAL_ARCHIVE, realworld_path
from tests.standins.ollama_server import OllamaStandIn
from tests.standins.slack_api import SlackApiStandin

# `database_url` / `database` (every store, scheduler, digest, dedupe and replica test runs on
# SQLite and on a throwaway PostgreSQL), `postgres_server`, `postgres_url`.
pytest_plugins = ["tests.pgserver"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read a developer's .env or talk to a real Ollama/Slack by accident."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "OLLAMA_HOST",
                 "STORAGE_ROOTS", "DATABASE_URL", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # discard port: refused at once


@pytest.fixture
def real_archive() -> Path:
    """The real 101-file archive from ../shared; the test is skipped cleanly when it is absent."""
    if not REAL_ARCHIVE.is_dir():
        pytest.skip(f"real archive not present at {REAL_ARCHIVE}")
    return REAL_ARCHIVE


@pytest.fixture
def wmma_archive() -> Path:
    """llama.cpp llama-bench JSONL, 3 models x build variants x context depths (lhl/strix-halo-testing)."""
    return realworld_path("llamabench_jsonl_wmma")


@pytest.fixture
def multibackend_archive() -> Path:
    """364 llama-bench records on ROCm and Vulkan builds, and their re-export with more context."""
    return realworld_path("llamabench_raw_runs_multibackend")


@pytest.fixture
def vllm_archive() -> Path:
    """The vLLM-Ascend nightly suite: serving aggregates per request rate, latency, throughput; two runs."""
    return realworld_path("vllm_nightly")


@pytest.fixture
def llmperf_archive() -> Path:
    """The LLMPerf leaderboard, 70B, eight providers: per-request rows and summaries."""
    return realworld_path("llmperf_leaderboard_70b")


@pytest.fixture
def ollama_md_archive() -> Path:
    """`ollama run --verbose` output saved as Markdown, one request per file, on six kinds of hardware."""
    return realworld_path("ollama_verbose_md")


@pytest.fixture
def ollama() -> Iterator[OllamaStandIn]:
    """A fresh Ollama stand-in on 127.0.0.1 (real HTTP/NDJSON protocol)."""
    with OllamaStandIn() as server:
        yield server


@pytest.fixture
def standin() -> Iterator[SlackApiStandin]:
    """A fresh Slack Web API stand-in on 127.0.0.1 recording every call."""
    with SlackApiStandin() as api:
        yield api


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A private prefix in fsspec's process-wide in-memory filesystem, removed afterwards."""
    url = f"memory://chimera-test-{uuid.uuid4().hex}"
    yield url
    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the item (``item.rep_call``): fixtures read it to show the
    logs of the processes a failed test started."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which PostgreSQL the PostgreSQL lane ran on (or that it did not run)."""
    from tests import pgserver

    for server in pgserver.STARTED:
        terminalreporter.write_line(
            f"PostgreSQL lane: throwaway PostgreSQL {server.binaries.version} ({server.binaries.source}), "
            f"started in {server.timings.get('total_start', 0.0) * 1000:.0f} ms")
    if not pgserver.STARTED and pgserver.FACTORIES:
        terminalreporter.write_line("PostgreSQL lane: the server at CHIMERA_TEST_POSTGRES_URL")
