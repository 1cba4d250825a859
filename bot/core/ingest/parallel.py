"""Reading an archive's files in worker processes, when the archive is large enough for it to pay.

Each file is read by `bot.core.ingest.files.read_file`, a pure function of the file, so reading
them in other processes gives the same `FileRead`s, handed back in file order. Starting workers
and sending their rows back costs a fixed ~0.1 s plus a little per row, so small archives are read
in this process: `PARALLEL_MIN_FILES` is where the pool starts to win, measured by
``bench/bench_ingest.py --parallel`` (see the README's benchmark table).

Workers are forked from this process when it runs no other thread (the CLI), else from a fork
server (the Slack bot's analyses run on worker threads, and forking a threaded process can copy a
lock some other thread holds).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence

from bot.core.ingest.files import Archive, FileRead, read_file

PARALLEL_MIN_FILES = 1500
CHUNK_FILES = 16  # files per task sent to a worker: fewer round trips, still balanced

_archive: Archive | None = None  # a worker's view of the archive (set by `_start_worker`)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_files(root: str, rels: Sequence[str], max_file_bytes: int, *, workers: int | None = None
               ) -> Iterator[FileRead]:
    """Every file read, in order: here, or by ``workers`` processes (default: one per CPU) when
    there are at least `PARALLEL_MIN_FILES` files and more than one worker."""
    count = available_cpus() if workers is None else workers
    if count < 2 or len(rels) < PARALLEL_MIN_FILES:
        archive = Archive(root, rels, max_file_bytes)
        for rel in rels:
            yield read_file(rel, archive)
        return
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")
    with context.Pool(count, initializer=_start_worker, initargs=(root, list(rels), max_file_bytes)) as pool:
        yield from pool.imap(_read, rels, chunksize=CHUNK_FILES)


def _start_worker(root: str, rels: list[str], max_file_bytes: int) -> None:
    global _archive
    _archive = Archive(root, rels, max_file_bytes)


def _read(rel: str) -> FileRead:
    assert _archive is not None
    return read_file(rel, _archive)
