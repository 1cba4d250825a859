#!/usr/bin/env python3
"""Ingest and analysis benchmark on generated archives of ~100, ~1,000 and ~10,000 files.

    .venv/bin/python bench/bench_ingest.py [--runs 5] [--sizes 100,1000,10000] [--budget-s 150]

Archives come from `scripts.examplegen.generate_archive` (seed 7) and are cached under
``$TMPDIR/chimera-bench-archives`` (reused when complete; ``--fresh`` regenerates). Each size is
measured in a fresh subprocess so memory peaks do not mix:

- ``ingest`` / ``analysis``: median wall time of ``ingest_tree`` and ``analyze`` over the runs;
- ``rss Δ``: growth of the process's peak RSS (ru_maxrss) over the runs, after imports;
- ``traced``: tracemalloc peak of one extra ingest+analysis run (skipped when a run takes longer
  than ``--trace-max-s``: tracing slows Python code ~2x).

A size stops early (fewer runs than asked, shown in the table) once its runs exceed ``--budget-s``.
The real archive at ../shared/data/chimera-reports, when present, is measured end to end through
``Pipeline.run(use_llm=False)``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_ARCHIVE = ROOT.parent / "shared" / "data" / "chimera-reports"
SEED = 7


# ----------------------------------------------------------------------------------- worker
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _worker(mode: str, path: Path, runs: int, budget_s: float, trace_max_s: float) -> dict:
    import scipy.special  # type: ignore[import-untyped]  # noqa: F401  (lazy in analysis: keep it out of run 1)

    from bot.app import build_pipeline
    from bot.core.analysis import analyze
    from bot.core.ingest import ingest_tree
    from bot.settings import load_settings

    baseline = _rss_mb()
    ingest_s: list[float] = []
    analysis_s: list[float] = []
    total_s: list[float] = []
    files = rows = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-work-") as work:
        settings = load_settings(work_dir=Path(work), storage_roots=[work])

        def once() -> tuple[float, float, float, int, int]:
            t0 = time.perf_counter()
            if mode == "e2e":
                result = build_pipeline(settings).run(str(path), use_llm=False, allow_local_paths=True)
                t = result.timings_s
                return (t["ingest"], t["analysis"], time.perf_counter() - t0,
                        result.ingest.inventory.files_total, len(result.ingest.measurements))
            ingest = ingest_tree(path)
            t1 = time.perf_counter()
            analyze(ingest)
            t2 = time.perf_counter()
            return t1 - t0, t2 - t1, t2 - t0, ingest.inventory.files_total, len(ingest.measurements)

        for _ in range(runs):
            a, b, c, files, rows = once()
            ingest_s.append(a)
            analysis_s.append(b)
            total_s.append(c)
            if time.perf_counter() - started > budget_s:
                break
        rss_delta = _rss_mb() - baseline
        traced = None
        if statistics.median(total_s) <= trace_max_s:
            tracemalloc.start()
            once()
            traced = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return {"files": files, "rows": rows, "runs": len(total_s), "ingest_s": statistics.median(ingest_s),
            "analysis_s": statistics.median(analysis_s), "total_s": statistics.median(total_s),
            "rss_delta_mb": rss_delta, "traced_peak_mb": traced}


# ----------------------------------------------------------------------------------- driver
def _archive(cache: Path, target_files: int, fresh: bool) -> tuple[Path, float | None]:
    from scripts.examplegen import FILES_PER_ROUND, FIXED_FILES, generate_archive

    scale = max(1, round((target_files - FIXED_FILES) / FILES_PER_ROUND))
    path = cache / f"seed{SEED}-scale{scale}"
    marker = cache / f"seed{SEED}-scale{scale}.complete"  # outside the tree: not part of the archive
    if marker.exists() and not fresh:
        return path, None
    if path.exists():
        import shutil

        shutil.rmtree(path)
    t0 = time.perf_counter()
    generate_archive(path, seed=SEED, scale=scale)
    marker.write_text("ok\n")
    return path, time.perf_counter() - t0


def _measure(mode: str, path: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", mode, "--path", str(path),
           "--runs", str(args.runs), "--budget-s", str(args.budget_s), "--trace-max-s", str(args.trace_max_s)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(label: str, r: dict) -> str:
    traced = f"{r['traced_peak_mb']:8.1f}" if r["traced_peak_mb"] is not None else "       -"
    rate = r["files"] / r["total_s"] if r["total_s"] > 0 else float("inf")
    return (f"{label:<22} {r['files']:>7,} {r['rows']:>9,} {r['runs']:>4} {r['ingest_s']:>9.3f} "
            f"{r['analysis_s']:>9.3f} {r['total_s']:>9.3f} {rate:>9,.0f} {r['rss_delta_mb']:>8.1f} {traced}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ingest/analysis benchmark")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000", help="approximate file counts")
    parser.add_argument("--budget-s", type=float, default=150.0,
                        help="stop repeating a size once its runs took this long (at least one run)")
    parser.add_argument("--trace-max-s", type=float, default=20.0,
                        help="skip the tracemalloc run when one run takes longer than this")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "chimera-bench-archives")
    parser.add_argument("--fresh", action="store_true", help="regenerate cached archives")
    parser.add_argument("--real", type=Path, default=REAL_ARCHIVE)
    parser.add_argument("--worker", choices=("synthetic", "e2e"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(_worker(args.worker, args.path, args.runs, args.budget_s, args.trace_max_s)))
        return 0

    sys.path.insert(0, str(ROOT))
    args.cache.mkdir(parents=True, exist_ok=True)
    header = (f"{'archive':<22} {'files':>7} {'rows':>9} {'runs':>4} {'ingest s':>9} {'analyze s':>9} "
              f"{'total s':>9} {'files/s':>9} {'rss Δ MB':>8} {'traced MB':>8}")
    print(f"chimera ingest/analysis bench — {os.cpu_count()} CPUs, python {sys.version.split()[0]}, "
          f"medians over up to {args.runs} runs (budget {args.budget_s:.0f} s per size)")
    print(header)
    print("-" * len(header))
    results: list[tuple[str, dict]] = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        path, generated_s = _archive(args.cache, size, args.fresh)
        r = _measure("synthetic", path, args)
        label = f"generated ~{size:,}"
        results.append((label, r))
        print(_row(label, r) + (f"   (generated in {generated_s:.1f} s)" if generated_s else ""), flush=True)
    if args.real.is_dir():
        r = _measure("e2e", args.real, args)
        print(_row("real chimera-reports*", r), flush=True)
        print("* end to end: Pipeline.run(use_llm=False) = fetch + ingest + analysis + report")
    else:
        print(f"(real archive not found at {args.real}: skipped)")
    short = [label for label, r in results if r["runs"] < args.runs]
    if short:
        print(f"note: fewer than {args.runs} runs for {', '.join(short)} (time budget); "
              f"'-' in traced MB = tracemalloc run skipped (a run took > {args.trace_max_s:.0f} s)")
    if len(results) >= 2:
        (la, a), (lb, b) = results[-2], results[-1]
        per_a, per_b = a["total_s"] / a["files"], b["total_s"] / b["files"]
        print(f"scaling {la} -> {lb}: files x{b['files'] / a['files']:.1f}, time x{b['total_s'] / a['total_s']:.1f} "
              f"(per file {per_a * 1e3:.2f} ms -> {per_b * 1e3:.2f} ms; ingest x{b['ingest_s'] / a['ingest_s']:.1f}, "
              f"analysis x{b['analysis_s'] / a['analysis_s']:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
