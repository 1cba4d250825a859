#!/usr/bin/env python3
"""Claim-check benchmark: `check_claims` and `analyze` on one archive, time and memory.

    .venv/bin/python bench/bench_claims.py [--runs 5] [--sizes 10000] [--real PATH] [--ref CHECKOUT]

Per archive (the real one and generated ones of about ``--sizes`` files, as bench_ingest.py makes
them), in a fresh process that ingests once: the medians of ``--runs`` alternating runs of
``analyze`` and of ``check_claims`` alone (wall and CPU seconds: the machine is shared, CPU time
moves less with its load), and ``check_claims``' share of ``analyze``. Memory, in another fresh
process after a warm-up on a tiny archive: the growth of peak RSS (VmHWM reset through
/proc/self/clear_refs) during one ``analyze``, per measurement row, and the tracemalloc peak of one
``check_claims`` over what it keeps (its result).

``--ref CHECKOUT`` runs the same workers with another checkout's ``bot`` (e.g. the main branch) in
the same run, alternating, for a before/after; its figures are printed on a ``ref`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import REAL_ARCHIVE, TINY_SCALE, _archive, _status  # the same archives, the same RSS reading


# ------------------------------------------------------------------------------ in a worker
def _inputs(path: Path) -> tuple[Any, tuple[Any, ...]]:
    """The ingest result and `check_claims`' arguments, made as `analyze` makes them."""
    from bot.core.analysis.groups import with_group_model
    from bot.core.analysis.requests import request_frame
    from bot.core.codes import as_texts
    from bot.core.ingest import ingest_tree

    ingest = ingest_tree(path, workers=1)
    requests = request_frame(ingest.measurements)
    measurements = with_group_model(ingest.measurements)
    generic = as_texts(measurements.loc[measurements["kind"] == "generic"].reset_index(drop=True))
    aliases: dict[str, list[str]] = {}
    for kept, duplicate in ingest.inventory.duplicates:
        aliases.setdefault(kept, []).append(duplicate)
    return ingest, (ingest.claims, requests, generic, aliases)


def _speed(path: Path, runs: int) -> dict[str, Any]:
    import gc

    from bot.core.analysis import analyze
    from bot.core.analysis.claims import check_claims

    ingest, arguments = _inputs(path)
    times: dict[str, list[float]] = {"analyze": [], "analyze_cpu": [], "check": [], "check_cpu": []}
    checks: Any = None
    for _ in range(runs):
        for name, call in (("analyze", lambda: analyze(ingest)), ("check", lambda: check_claims(*arguments))):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = call()
            times[f"{name}_cpu"].append(time.process_time() - cpu)
            times[name].append(time.perf_counter() - wall)
            if name == "check":
                checks = result
            del result
    import bot

    return {"bot": str(Path(bot.__file__).parent), "rows": len(ingest.measurements), "claims": len(ingest.claims),
            "checked": len(checks[0]),
            **{name: statistics.median(values) for name, values in times.items()}}


def _memory(path: Path, tiny: Path) -> dict[str, Any]:
    import gc
    import tracemalloc

    from bot.core.analysis import analyze
    from bot.core.analysis.claims import check_claims
    from bot.core.ingest import ingest_tree

    analyze(ingest_tree(tiny, workers=1))  # warm-up: imports, first-use allocations
    ingest, arguments = _inputs(path)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS:")
    analysis = analyze(ingest)
    analyze_peak = _status("VmHWM:") - base
    del analysis
    gc.collect()
    tracemalloc.start()
    result = check_claims(*arguments)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    rows = len(ingest.measurements)
    return {"analyze_per_row": analyze_peak / rows if rows else None, "claims_traced_mb": (peak - kept) / 1e6,
            "claims_kept_mb": kept / 1e6}


# ------------------------------------------------------------------------------ the driver
def _run(kind: str, checkout: Path, path: Path, runs: int, tiny: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--path", str(path),
           "--runs", str(runs), "--tiny", str(tiny)]
    env = dict(os.environ, PYTHONPATH=str(checkout) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=checkout, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _line(label: str, speed: dict[str, Any], memory: dict[str, Any]) -> str:
    share = speed["check"] / speed["analyze"] if speed["analyze"] else float("nan")
    return (f"  {label:<4} ({speed['bot']}) rows {speed['rows']}, claims {speed['claims']}, checked "
            f"{speed['checked']}\n       analyze {speed['analyze']:.3f} s (cpu {speed['analyze_cpu']:.3f}) | "
            f"check_claims {speed['check']:.4f} s (cpu {speed['check_cpu']:.4f}, {share:.0%} of analyze) | "
            f"analyze peak RSS "
            f"{memory.get('analyze_per_row', float('nan')):5.0f} B/row | check_claims traced peak "
            f"{memory.get('claims_traced_mb', float('nan')):6.1f} MB over its result "
            f"({memory.get('claims_kept_mb', float('nan')):.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10000", help="generated archives of about this many files, comma-separated")
    parser.add_argument("--real", type=Path, default=REAL_ARCHIVE)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "chimera-bench-archives")
    parser.add_argument("--ref", type=Path, help="another checkout to measure in the same run (before/after)")
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--worker", choices=("speed", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tiny", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "speed":
        print(json.dumps(_speed(args.path, args.runs)))
        return 0
    if args.worker == "memory":
        print(json.dumps(_memory(args.path, args.tiny)))
        return 0

    sys.path.insert(0, str(ROOT))
    args.cache.mkdir(parents=True, exist_ok=True)
    archives = [(f"real {args.real.name}", args.real)] if args.real.is_dir() else []
    archives += [(f"generated {size}", _archive(args.cache, size))
                 for size in (int(s) for s in args.sizes.split(",") if s.strip())]
    tiny = _archive(args.cache, 8 * TINY_SCALE + 7)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"claim-check bench - {os.cpu_count()} CPUs (load {load:.1f} at start); medians of {args.runs} runs")
    checkouts = [("this", ROOT)] + ([("ref", args.ref.resolve())] if args.ref else [])
    for label, path in archives:
        print(f"{label} ({path})")
        for name, checkout in checkouts:
            speed = _run("speed", checkout, path, args.runs, tiny)
            memory = _run("memory", checkout, path, args.runs, tiny) if args.memory else {}
            print(_line(name, speed, memory), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
