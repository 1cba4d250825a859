#!/usr/bin/env python3
"""Ingest + analysis benchmark: every figure is a ratio to a floor measured in the same run.

    .venv/bin/python bench/bench_ingest.py [--runs 5] [--sizes 100,1000,10000] [--real PATH]
                                           [--no-cli] [--no-memory] [--no-pool]

The machine is shared: absolute seconds move with its load, a ratio to a floor measured in the
same process, in alternating runs, does not (much). Every figure is a median of ``--runs`` runs.

- **floor**: read every file of the archive and parse it the obvious way (``json.loads`` for
  .json, per line for .jsonl, ``pandas.read_csv`` for .csv; text and Markdown are only decoded);
- **product**: ``ingest_tree`` + ``analyze`` in process, as the pipeline calls them, with a job budget
  that admits the whole archive (`_whole_archive_limits`; the report
  and the narrative are not part of it); shown as ``× floor``;
- **pool**: ``ingest_tree`` with a process pool against ``ingest_tree`` in process, wall time and
  CPU time of all processes (`bot.core.ingest.parallel.PARALLEL_MIN_FILES` is where the wall
  ratio falls below 1 on an idle machine);
- **CLI**: ``chimera analyze ARCHIVE --no-llm --quiet`` in a fresh interpreter against
  ``python -c "import pandas"`` (the package's bytecode is compiled first, as ``pip install``
  does; alternating runs);
- **memory**: one ingest + analysis in a fresh process (after a warm-up on a tiny archive): the
  growth of peak RSS (VmHWM, reset through /proc/self/clear_refs) and, in another process, the
  tracemalloc peak, per measurement row: after ingest, and after ingest + analysis.

The in-process workers (product, floor, pool, memory) first call ``bot.allocator.tune_allocator()``,
as the product's entry points (``chimera analyze``, ``chimera serve``) do: the bench measures the
product as they configure the process (on glibc: a fixed 128 KiB mmap threshold, which lowers the
peak RSS; the floor runs in that same process, so its ratio is like for like).

Archives: the real one (../shared/data/chimera-reports, skipped when absent) and archives of about
``--sizes`` files from `scripts.examplegen` (seed 7), cached under ``$TMPDIR/chimera-bench-archives``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL_ARCHIVE = ROOT.parent / "shared" / "data" / "chimera-reports"
SEED = 7
TINY_SCALE = 1  # the warm-up archive (15 files)


def _whole_archive_limits() -> Any:
    """The default limits, but a job budget (MAX_JOB_MEASUREMENTS, 300,000) that admits the whole
    archive: the generated 10,000 files hold ~610,000 measurements, and with the default budget the
    product stops reading about half way while the floor reads every file."""
    from bot.core.limits import IngestLimits

    return IngestLimits(max_job_measurements=10**9)


# ------------------------------------------------------------------------------ in a worker
def floor(path: Path) -> None:
    """Read and parse every file the obvious way (the read+parse floor)."""
    import pandas as pd

    for folder, _folders, names in os.walk(path):
        for name in sorted(names):
            full = os.path.join(folder, name)
            with open(full, "rb") as handle:
                data = handle.read()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                continue
            _parse(text, os.path.splitext(name)[1].lower(), pd)


def _parse(text: str, suffix: str, pd: Any) -> None:
    try:
        if suffix == ".json":
            json.loads(text)
        elif suffix in (".jsonl", ".ndjson"):
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        elif suffix == ".csv":
            pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError):
        pass


def _speed(path: Path, runs: int, pool: bool) -> dict[str, Any]:
    from bot.allocator import tune_allocator

    tune_allocator()  # as the product's entry points do (see the module's docstring)
    import bot.core.ingest.parallel as parallel
    from bot.core.analysis import analyze
    from bot.core.ingest import ingest_tree

    def product() -> tuple[float, float, int, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        ingest = ingest_tree(path, workers=1, limits=_whole_archive_limits())
        t1, c1 = time.perf_counter(), time.process_time()
        analyze(ingest)
        return t1 - t0, time.perf_counter() - t1, len(ingest.measurements), c1 - c0

    def pooled() -> tuple[float, float]:
        """(wall s, CPU s of this process and its workers) of reading with a pool."""
        parallel.PARALLEL_MIN_FILES = 0
        t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
        ingest_tree(path, workers=max(2, parallel.available_cpus()), limits=_whole_archive_limits())
        return time.perf_counter() - t0, time.process_time() - c0 + _children_cpu() - k0

    floor(path)
    product()  # warm-up: first-use imports (scipy.special for the noise tests), caches
    found: dict[str, list[float]] = {"floor": [], "ingest": [], "analysis": [], "product": [], "ingest_cpu": [],
                                     "pool": [], "pool_cpu": []}
    rows = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        floor(path)
        found["floor"].append(time.perf_counter() - t0)
        ingest_s, analysis_s, rows, ingest_cpu = product()
        found["ingest"].append(ingest_s)
        found["analysis"].append(analysis_s)
        found["product"].append(ingest_s + analysis_s)
        found["ingest_cpu"].append(ingest_cpu)
        if pool:
            pool_s, pool_cpu = pooled()
            found["pool"].append(pool_s)
            found["pool_cpu"].append(pool_cpu)
    out: dict[str, Any] = {name: statistics.median(v) for name, v in found.items() if v}
    out["runs"], out["rows"] = runs, rows
    out["files"] = sum(len(names) for _f, _d, names in os.walk(path))
    return out


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _memory(path: Path, tiny: Path, traced: bool) -> dict[str, Any]:
    import gc
    import tracemalloc

    from bot.allocator import tune_allocator

    tune_allocator()  # as the product's entry points do (see the module's docstring)
    from bot.core.analysis import analyze
    from bot.core.ingest import ingest_tree

    analyze(ingest_tree(tiny, workers=1))  # warm-up: imports, first-use allocations
    gc.collect()
    if traced:
        tracemalloc.start()
    else:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS:")

    def peak() -> int:
        return tracemalloc.get_traced_memory()[1] if traced else _status("VmHWM:") - base

    ingest = ingest_tree(path, workers=1, limits=_whole_archive_limits())
    ingest_peak = peak()
    analysis = analyze(ingest)
    total_peak = peak()
    rows = len(ingest.measurements)
    del analysis
    return {"rows": rows, "ingest_per_row": ingest_peak / rows if rows else None,
            "per_row": total_peak / rows if rows else None}


# ------------------------------------------------------------------------------ the driver
def _run_worker(kind: str, path: Path, args: argparse.Namespace, tiny: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--path", str(path),
           "--tiny", str(tiny), "--runs", str(args.runs)] + ([] if args.pool else ["--no-pool"])
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _archive(cache: Path, files: int) -> Path:
    from scripts.examplegen import FILES_PER_ROUND, FIXED_FILES, generate_archive

    scale = max(1, round((files - FIXED_FILES) / FILES_PER_ROUND))
    path = cache / f"seed{SEED}-scale{scale}"
    marker = cache / f"seed{SEED}-scale{scale}.complete"  # outside the tree: not part of the archive
    if not marker.exists():
        if path.exists():
            import shutil

            shutil.rmtree(path)
        generate_archive(path, seed=SEED, scale=scale)
        marker.write_text("ok\n")
    return path


def _cli(path: Path, runs: int) -> dict[str, float]:
    """Median seconds of `import pandas` and of the CLI, alternating, and the ratio of the medians."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "bot"), str(ROOT / "handlers")],
                   check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE=""))
    chimera = Path(sys.executable).with_name("chimera")
    times: dict[str, list[float]] = {"pandas": [], "cli": []}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as work:
        env = dict(os.environ, WORK_DIR=work, STORAGE_ROOTS=work)
        commands = {"pandas": [sys.executable, "-c", "import pandas"],
                    "cli": [str(chimera), "analyze", str(path), "--no-llm", "--quiet", "--out", os.devnull]}
        for cmd in commands.values():  # warm the page cache
            subprocess.run(cmd, check=True, cwd=work, env=env)
        for _ in range(runs):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, cwd=work, env=env)
                times[name].append(time.perf_counter() - t0)
    out = {name: statistics.median(v) for name, v in times.items()}
    out["ratio"] = out["cli"] / out["pandas"]
    return out


def _header(args: argparse.Namespace) -> None:
    import numpy
    import pandas

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"chimera ingest + analysis bench - {os.cpu_count()} CPUs (load {load:.1f} at start), "
          f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}; "
          f"medians of {args.runs} alternating runs; every figure a ratio to its floor measured in the same run")
    print(f"{'archive':<24} {'files':>6} {'rows':>9} {'floor s':>8} {'product s':>9} {'x floor':>7} "
          f"{'ingest s':>8} {'analysis s':>10} {'pool wall':>9} {'pool CPU':>8} {'RSS B/row':>9} {'traced B/row':>12}")
    print("(pool wall / CPU: reading with a process pool against reading in process, wall time and CPU time of all "
          "processes; B/row: peak growth per measurement row after ingest / after ingest + analysis)")


def _row(label: str, speed: dict[str, Any], memory: dict[str, Any], traced: dict[str, Any]) -> str:
    pool = f"{speed['pool'] / speed['ingest']:.2f}" if "pool" in speed else "-"
    pool_cpu = f"{speed['pool_cpu'] / speed['ingest_cpu']:.2f}" if "pool_cpu" in speed else "-"
    rss = f"{memory['ingest_per_row']:.0f}/{memory['per_row']:.0f}" if memory.get("per_row") else "-"
    tm = f"{traced['ingest_per_row']:.0f}/{traced['per_row']:.0f}" if traced.get("per_row") else "-"
    return (f"{label:<24} {speed['files']:>6,} {speed['rows']:>9,} {speed['floor']:>8.3f} {speed['product']:>9.3f} "
            f"{speed['product'] / speed['floor']:>7.2f} {speed['ingest']:>8.3f} {speed['analysis']:>10.3f} "
            f"{pool:>9} {pool_cpu:>8} {rss:>9} {tm:>12}")


def _archives(args: argparse.Namespace) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    if args.real.is_dir():
        out.append((f"real {args.real.name}", args.real))
    else:
        print(f"(real archive not found at {args.real}: skipped)")
    cache = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        out.append((f"generated ~{size:,}", _archive(cache, size)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000", help="approximate file counts of generated archives")
    parser.add_argument("--real", type=Path, default=REAL_ARCHIVE)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "chimera-bench-archives")
    parser.add_argument("--no-cli", dest="cli", action="store_false")
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--no-pool", dest="pool", action="store_false")
    parser.add_argument("--worker", choices=("speed", "memory", "traced"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tiny", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "speed":
        print(json.dumps(_speed(args.path, args.runs, args.pool)))
        return 0
    if args.worker in ("memory", "traced"):
        print(json.dumps(_memory(args.path, args.tiny, args.worker == "traced")))
        return 0

    sys.path.insert(0, str(ROOT))
    archives = _archives(args)
    tiny = _archive(args.cache, 8 * TINY_SCALE + 7)
    _header(args)
    for label, path in archives:
        speed = _run_worker("speed", path, args, tiny)
        memory = _run_worker("memory", path, args, tiny) if args.memory else {}
        traced = _run_worker("traced", path, args, tiny) if args.memory else {}
        print(_row(label, speed, memory, traced), flush=True)
    if args.cli:
        for label, path in archives[:1]:
            cli = _cli(path, args.runs)
            print(f"CLI on {label}: chimera analyze --no-llm {cli['cli']:.3f} s, python -c 'import pandas' "
                  f"{cli['pandas']:.3f} s: {cli['ratio']:.2f} x import pandas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
