"""Where things are, computed once from this file's place (tests/ at the repository root), so a
test module can move between folders without counting ``parents``."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real 101-file archive lives next to the checkout; tests using it skip when it is absent.
REAL_ARCHIVE = REPO_ROOT.parent / "shared" / "data" / "chimera-reports"
# Archives other teams published (provenance in ../shared/data/realworld/<name>.SOURCE.md)
REALWORLD = REPO_ROOT.parent / "shared" / "data" / "realworld"
REALWORLD_ARCHIVES = ("llamabench_jsonl_wmma", "llamabench_raw_runs_multibackend", "vllm_nightly",
                      "llmperf_leaderboard_70b", "ollama_verbose_md")


def realworld_path(name: str) -> Path:
    """A real-world archive's folder; the test is skipped cleanly when ../shared is absent."""
    import pytest

    path = REALWORLD / name
    if not path.is_dir():
        pytest.skip(f"real-world archive not present at {path}")
    return path
