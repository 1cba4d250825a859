"""Hostile archives whose *rows* are many (issue 12): small on disk, huge once read.

`many_rows_archive` streams a CSV through gzip, so a 1.5 M-row archive costs a few MB to build
and ~180 KB of disk: what reading it costs is the point.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

HEADER = b"model,tokens_per_second,ttft_ms,latency_ms\n"
ROW = b"gemma3:1b-it-qat,42.125,120.5,950.25\n"  # 37 bytes: 1.5 M rows ~ 55 MB


def many_rows_archive(path: Path, *, rows: int = 1_500_000, name: str = "results/bench.csv") -> Path:
    """A .tar.gz holding one CSV of ``rows`` identical request rows (a model, throughput, TTFT, latency)."""
    size = len(HEADER) + rows * len(ROW)
    info = tarfile.TarInfo(name)
    info.size = size
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(header)
        out.write(HEADER)
        chunk = ROW * 10_000
        left = rows
        while left > 0:
            take = min(left, 10_000)
            out.write(chunk if take == 10_000 else ROW * take)
            left -= take
        out.write(b"\0" * (-size % 512) + b"\0" * 1024)
    return path


def many_models_archive(path: Path, *, models: int = 10_000, name: str = "results/models.csv") -> Path:
    """A .tar.gz holding one CSV with ``models`` distinct model names, three requests each."""
    body = io.BytesIO()
    body.write(HEADER)
    for index in range(models):
        for attempt in range(3):
            body.write(f"model-{index:05d}:7b,{40 + index % 13 + attempt * 0.5},{100 + index % 7},900\n".encode())
    data = body.getvalue()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(data))
    return path
