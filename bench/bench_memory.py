"""Peak memory of the memory attacks (issue 12): what one hostile request or archive costs.

Each figure is the growth of the kernel's peak RSS (VmHWM) of a fresh process (a warmed-up
server for the HTTP attacks), median of --runs runs:

- HTTP: an unsigned 400 MB POST to /slack/events, with Content-Length and chunked; a correctly
  signed body just under MAX_REQUEST_BYTES (1 MiB) that Bolt parses;
- extraction: a ~200 KB .tar.gz holding a 200 MB GNU long name, and one holding a 200 MB pax
  header;
- a whole job (the real pipeline, no model): a ~160 KB .tar.gz holding a 55 MB CSV of 1.5 M rows
  (issue 12: 12 GB before), and the largest job the default limits allow (99,999 rows, 299,997
  measurements), with its seconds.

    .venv/bin/python bench/bench_memory.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout: tests/ helpers

from tests import row_attacks, tar_attacks
from tests.adapters.test_http_limits import http_post, peak_kb, send_huge
from tests.slack_support import SECRET
from tests.standins.slack_api import sign

ENV = dict(os.environ, PYTHONPATH=str(ROOT))
HELP = b"token=legacy&command=%2Fchimera&text=help&team_id=T0001&channel_id=C0001&user_id=U0001"


def http_figures(runs: int) -> dict[str, list[int]]:
    """Each attack against a fresh, warmed-up server process (the peak is a high-water mark: a
    second attack in the same process would reuse memory the first one peaked at)."""
    total = 400 * 1024 * 1024
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    big = HELP + b"&x=" + b"a" * (1024 * 1024 - 1 - len(HELP) - 3)
    attacks = {
        "unsigned 400 MB POST, Content-Length": lambda port: send_huge(
            port, {"Content-Type": "application/json", "Content-Length": str(total)}, total, chunk_framing=False),
        "unsigned 400 MB POST, chunked": lambda port: send_huge(
            port, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, total, chunk_framing=True),
        "signed 1 MiB body (Bolt parses it)": lambda port: http_post(
            port, {**form, **sign(SECRET, big), "Content-Length": str(len(big))}, big),
    }
    out: dict[str, list[int]] = {name: [] for name in attacks}
    for name, attack in attacks.items():
        for _ in range(runs):
            proc = subprocess.Popen([sys.executable, "-m", "tests.memory_probe", "http"], cwd=ROOT, env=ENV,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None and proc.stdin is not None
            port = int(proc.stdout.readline().split()[1])
            for _ in range(5):  # warm up: threads started, Bolt's code paths run once
                http_post(port, {**form, **sign(SECRET, HELP), "Content-Length": str(len(HELP))}, HELP)
            before = peak_kb(proc)
            attack(port)
            out[name].append(peak_kb(proc) - before)
            proc.stdin.close()
            proc.wait(timeout=30)
    return out


def extraction_figures(runs: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="chimera-bench-") as tmp:
        attacks = {
            "200 MB GNU long name": tar_attacks.long_name_archive(Path(tmp) / "name.tar.gz",
                                                                 name_bytes=200 * 1024 * 1024),
            "200 MB pax header": tar_attacks.pax_archive(Path(tmp) / "pax.tar.gz", pax_bytes=200 * 1024 * 1024),
        }
        for label, archive in attacks.items():
            key = f"{label} ({archive.stat().st_size // 1024} KB .tar.gz)"
            out[key] = []
            for _ in range(runs):
                done = subprocess.run([sys.executable, "-m", "tests.memory_probe", "extract", str(archive),
                                       str(Path(tmp) / "work")], cwd=ROOT, env=ENV, capture_output=True,
                                      text=True, check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                assert result["ok"] is False, result
                out[key].append(result["hwm_after_kb"] - result["hwm_before_kb"])
    return out


def job_figures(runs: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="chimera-bench-") as tmp:
        jobs = {
            "1.5 M-row CSV": row_attacks.many_rows_archive(Path(tmp) / "attack.tar.gz", rows=1_500_000),
            "largest allowed job: 99,999 rows": row_attacks.many_rows_archive(Path(tmp) / "max.tar.gz", rows=99_999),
        }
        for label, archive in jobs.items():
            key = f"job: {label} ({archive.stat().st_size // 1024} KB .tar.gz)"
            out[key], seconds = [], []
            for _ in range(runs):
                done = subprocess.run([sys.executable, "-m", "tests.memory_probe", "job", str(archive),
                                       str(Path(tmp) / "work")], cwd=ROOT, env=ENV, capture_output=True,
                                      text=True, check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                out[key].append(result["hwm_after_kb"] - result["hwm_before_kb"])
                seconds.append(result["seconds"])
            print(f"  {key}: {statistics.median(seconds):.2f} s per job (median), skipped {result['skipped']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("peak RSS growth (median of", args.runs, "runs)")
    figures_by_name = {**http_figures(args.runs), **extraction_figures(args.runs), **job_figures(args.runs)}
    for name, figures in figures_by_name.items():
        print(f"  {name:55s} {statistics.median(figures) / 1024:7.1f} MB   (runs: {figures} kB)")


if __name__ == "__main__":
    main()
