#!/usr/bin/env python3
"""Storing and loading 10,000 measurements, as ratios to the stdlib sqlite3 doing the same.

    .venv/bin/python bench/bench_store.py [--rows 10000] [--runs 5]

The store's test only checks that 10,000 measurements round-trip: how fast is a benchmark's
claim. Each figure is a median of ``--runs`` alternating runs, divided by its floor measured in the
same run on the same rows and the same kind of database file:

- **save**: ``store.runs.finish_run(..., measurements=frame)`` against ``sqlite3.executemany`` of
  the same rows as tuples into a table with the same columns, then a commit;
- **load**: ``store.runs.load_measurements(run_id)`` (back to the tidy frame) against
  ``SELECT`` of those rows with sqlite3.

The rows are the first ``--rows`` measurements of a generated archive (scripts.examplegen, seed 7).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bot.adapters.db import open_store
from bot.core.ingest import ingest_tree
from bot.core.types import MEASUREMENT_COLUMNS
from scripts.examplegen import generate_archive


def measurements(rows: int, work: Path) -> pd.DataFrame:
    scale = 1
    while True:
        archive = work / f"archive-{scale}"
        generate_archive(archive, seed=7, scale=scale)
        frame = ingest_tree(archive).stored_measurements()  # the contract frame, identifiers included, as a run is saved
        if len(frame) >= rows:
            return frame.iloc[:rows].reset_index(drop=True)
        scale *= 2


def sqlite_floor(path: Path, frame: pd.DataFrame) -> tuple[float, float]:
    """(save s, load s) of the same rows with the stdlib driver, plain tuples."""
    records = list(zip(*(frame[c].astype(object).where(frame[c].notna(), None).tolist()
                         for c in MEASUREMENT_COLUMNS), strict=True))
    columns = ", ".join(MEASUREMENT_COLUMNS)
    marks = ", ".join("?" for _ in MEASUREMENT_COLUMNS)
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, run_id INTEGER, {columns})")
        db.execute("DELETE FROM m")
        db.commit()
        t0 = time.perf_counter()
        db.executemany(f"INSERT INTO m (run_id, {columns}) VALUES (1, {marks})", records)
        db.commit()
        t1 = time.perf_counter()
        loaded = db.execute(f"SELECT {columns} FROM m WHERE run_id = 1 ORDER BY id").fetchall()
        t2 = time.perf_counter()
    assert len(loaded) == len(frame)
    return t1 - t0, t2 - t1


def product(url: str, frame: pd.DataFrame) -> tuple[float, float]:
    """(save s, load s) through the bot's store."""
    with open_store(url) as store:
        run = store.runs.create_run(archive="bench.tar.gz", trigger="cli")
        t0 = time.perf_counter()
        store.runs.finish_run(run.id, status="done", measurements=frame)
        t1 = time.perf_counter()
        loaded = store.runs.load_measurements(run.id)
        t2 = time.perf_counter()
    assert len(loaded) == len(frame)
    return t1 - t0, t2 - t1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        work = Path(tmp)
        frame = measurements(args.rows, work)
        found: dict[str, list[float]] = {"save": [], "load": [], "floor_save": [], "floor_load": []}
        product(f"sqlite:///{work / 'warm.sqlite3'}", frame.iloc[:100])  # imports, migrations code
        for run in range(args.runs):
            save, load = sqlite_floor(work / f"floor-{run}.sqlite3", frame)
            found["floor_save"].append(save)
            found["floor_load"].append(load)
            save, load = product(f"sqlite:///{work / f'store-{run}.sqlite3'}", frame)
            found["save"].append(save)
            found["load"].append(load)
    m = {name: statistics.median(values) for name, values in found.items()}
    print(f"chimera store bench - {len(frame):,} measurements, SQLite, medians of {args.runs} alternating runs; "
          f"floor = stdlib sqlite3 on the same rows")
    print(f"save: {m['save']:.3f} s = {m['save'] / m['floor_save']:.2f} x floor ({m['floor_save']:.3f} s executemany)")
    print(f"load: {m['load']:.3f} s = {m['load'] / m['floor_load']:.2f} x floor ({m['floor_load']:.3f} s SELECT)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
