"""Ten thousand model names in one archive (issue 12): what one job costs with the report caps.

Each run is one whole job (the real pipeline, no model) in a fresh process
(``tests.memory_probe job``): seconds and peak RSS growth, median of --runs runs, for 10,000 models
(3 requests each) at the default MAX_REPORT_MODELS (100), and for 100 models (the same report size)
as the floor. Before the cap the 10,000-model job took minutes (issue 12: two minutes; on this
branch's parent it had not finished after 170 s) and drew a 10,000-bar chart.

    .venv/bin/python bench/bench_report_caps.py [--runs 3]
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

from tests.row_attacks import many_models_archive

ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def job(archive: Path, work: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.memory_probe", "job", str(archive), str(work)], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chimera-bench-") as tmp:
        floor_s = None
        for models in (100, 10_000):
            archive = many_models_archive(Path(tmp) / f"models{models}.tar.gz", models=models)
            outcomes = [job(archive, Path(tmp) / "work") for _ in range(args.runs)]
            seconds = statistics.median(o["seconds"] for o in outcomes)
            growth = statistics.median(o["hwm_after_kb"] - o["hwm_before_kb"] for o in outcomes) / 1024
            floor_s = floor_s or seconds
            print(f"{models:6d} models: {seconds:6.2f} s per job (x{seconds / floor_s:.1f} the 100-model job), "
                  f"+{growth:.0f} MB peak RSS, report {outcomes[0]['report_chars']} chars, "
                  f"{outcomes[0]['models']} models in it (median of {args.runs})")


if __name__ == "__main__":
    main()
