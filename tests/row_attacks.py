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


# Line breaks other than "\n" (review 2 of issue 12): the readers split lines with str.splitlines,
# which also ends a line at "\r", "\x0b", "\x0c", "\x1c"-"\x1e", U+0085, U+2028 and U+2029. Counting
# only "\n" saw one row in these files, and parsed them whole.
LINE_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def separated_jsonl(rows: int, separator: str = "\x1e") -> bytes:
    """JSON Lines of ``rows`` request records separated by ``separator`` and no "\\n"."""
    return separator.join(f'{{"model":"gpt","tokens_per_second":{1 + i % 50}}}' for i in range(rows)).encode()


def ollama_verbose(runs: int, ending: str = "\r") -> bytes:
    """``ollama run --verbose`` statistics of ``runs`` runs, every line ended by ``ending`` (a bare "\\r")."""
    run = ending.join(["total duration: 2s", "eval count: 100 token(s)", "eval duration: 1s",
                       "eval rate: 100 tokens/s", ""])
    return ((run + ending) * runs).encode()


def one_file_archive(path: Path, name: str, data: bytes) -> Path:
    """A .tar.gz holding ``data`` as ``name``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(data))
    return path
