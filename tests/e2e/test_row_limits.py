"""The row attack of issue 12 (item 1c), through the real pipeline, with its memory measured.

Attack: a ~160 KB .tar.gz holding a 55 MB CSV of 1.5 M request rows (before: 12 GB, 193 s and
1.4 GB of database). Expected: the file is skipped unparsed, its reason giving the row count and
the limit, and the job's peak RSS, measured in a subprocess, grows by about the file's bytes (it is
read once to count them) and stays within the README's per-job bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO_ROOT
from tests.row_attacks import many_rows_archive, one_file_archive, separated_jsonl

# README "Limits": one job adds at most this to peak RSS at the default limits.
MAX_JOB_GROWTH_KB = 1024 * 1024


def job_in_subprocess(archive: Path, work: Path, *settings: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-m", "tests.memory_probe", "job", str(archive), str(work), *settings],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_million_and_a_half_rows_are_refused_by_counting_them(tmp_path):
    archive = many_rows_archive(tmp_path / "rows.tar.gz", rows=1_500_000)
    assert archive.stat().st_size < 250 * 1024  # small on disk, 55 MB once inflated
    outcome = job_in_subprocess(archive, tmp_path / "work")
    assert outcome["skipped"] == ["too many rows (1500000 > limit 100000; MAX_FILE_ROWS)"]
    assert outcome["requests"] == 0 and outcome["measurements"] == 0
    growth = outcome["hwm_after_kb"] - outcome["hwm_before_kb"]
    csv_kb = (1_500_000 * 37) // 1024
    assert growth < csv_kb + 32 * 1024, outcome  # the bytes, counted: nothing parsed
    assert growth < MAX_JOB_GROWTH_KB, outcome


def test_the_largest_job_the_limits_allow_stays_within_the_bound(tmp_path):
    """One file just under MAX_FILE_ROWS, three metrics a row: just under MAX_JOB_MEASUREMENTS."""
    archive = many_rows_archive(tmp_path / "rows.tar.gz", rows=99_999)
    outcome = job_in_subprocess(archive, tmp_path / "work")
    assert outcome["skipped"] == [] and outcome["requests"] == 99_999
    assert outcome["measurements"] == 299_997
    assert outcome["hwm_after_kb"] - outcome["hwm_before_kb"] < MAX_JOB_GROWTH_KB, outcome


def test_lower_limits_from_the_settings_reach_the_job(tmp_path):
    archive = many_rows_archive(tmp_path / "rows.tar.gz", rows=2_000)
    outcome = job_in_subprocess(archive, tmp_path / "work", "max_job_measurements=5000")
    assert outcome["skipped"] == ["over the job's measurement budget (more than 5000 measurements in this file "
                                  "alone; MAX_JOB_MEASUREMENTS)"]


def test_nine_hundred_thousand_records_split_by_record_separators_are_refused_by_counting_them(tmp_path):
    """Review 2 (h3): a 22 MB JSON Lines file whose records end with "\\x1e", not "\\n", counted as
    one row and was parsed whole (978 MB peak RSS) until the job budget stopped it."""
    data = separated_jsonl(900_000, "\x1e")
    archive = one_file_archive(tmp_path / "rs.tar.gz", "results/big.jsonl", data)
    outcome = job_in_subprocess(archive, tmp_path / "work")
    assert outcome["skipped"] == ["too many rows (900000 > limit 100000; MAX_FILE_ROWS)"]
    assert outcome["requests"] == 0 and outcome["measurements"] == 0
    growth = outcome["hwm_after_kb"] - outcome["hwm_before_kb"]
    assert growth < len(data) // 1024 + 32 * 1024, outcome  # the bytes, counted: nothing parsed
