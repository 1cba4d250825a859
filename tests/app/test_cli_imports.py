"""`chimera analyze --no-llm` loads only what an analysis needs (issue 15: imports are most of its
time). Checked in a fresh interpreter: which vendor packages are in ``sys.modules`` afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO_ROOT

NEVER = ("ollama", "httpx", "sqlalchemy", "alembic", "slack_bolt", "slack_sdk", "apscheduler", "matplotlib",
         "handlers", "scipy")

_PROBE = """
import json, sys
from bot.cli import main
code = main(["analyze", sys.argv[1], "--no-llm", "--quiet", "--out", sys.argv[2]])
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _loaded(archive: Path, tmp_path: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(archive), str(tmp_path / "report.md")],
                          capture_output=True, text=True, cwd=tmp_path, check=True,
                          env={"PATH": "", "PYTHONPATH": str(REPO_ROOT), "STORAGE_ROOTS": str(tmp_path)})
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["code"] == 0
    return set(found["loaded"])


def test_analyze_without_llm_loads_no_client_database_slack_or_charts(tmp_path: Path) -> None:
    loaded = _loaded(REPO_ROOT / "examples" / "example-archive.tar.gz", tmp_path)
    assert not loaded & set(NEVER)


def test_welch_tests_do_not_load_scipy(tmp_path: Path) -> None:
    """Two configurations with several requests each: the noise test runs, on bot/core/tdist.py."""
    archive = tmp_path / "two-configurations"
    archive.mkdir()
    rows = "".join(f"gemma3:270m,{ctx},{288.0 + i * ctx / 2048},{100 + i}\n" for ctx in (2048, 4096) for i in range(4))
    (archive / "results.csv").write_text("model,num_ctx,tokens_s,ttft_ms\n" + rows)
    assert "scipy" not in _loaded(archive, tmp_path)


def test_analyze_leaves_no_scratch_behind(tmp_path: Path) -> None:
    """The scratch is removed in the background (`open_location`'s ``remove_later``), and gone when
    the process has exited."""
    _loaded(REPO_ROOT / "examples" / "example-archive.tar.gz", tmp_path)
    work = tmp_path / ".chimera-work"  # WORK_DIR's default, under the process's working directory
    assert work.is_dir() and list(work.iterdir()) == []
