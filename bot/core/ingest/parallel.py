"""Reading an archive's files in worker processes, when the archive is large enough for it to pay.

Each file is read by `bot.core.ingest.files.read_file`, a function of the file (and of the copies
read before it through the same `Archive`: a byte-identical copy of an earlier file is not parsed),
so reading them in other processes, each share in file order, gives the same archive: `ingest_tree`
keeps the first of identical files whichever process read it. What the pool costs
was measured with ``bench/bench_ingest.py`` (its pool columns, README "Benchmarks"): starting two
workers costs ~0.1 s, and reading through them takes ~1.3x the CPU time of reading here (sending
rows back, and this process placing them), while this process keeps ~40% of the work (placing the
rows, then the passes over the whole archive). So the pool can only win with a CPU to spare, and
on an archive large enough for the reading to outweigh the start: from `PARALLEL_MIN_FILES` files,
and only when the 1-minute load average leaves a CPU idle (`default_workers`). On the shared 2-core
machine the benchmarks ran on, no CPU was idle: the pool lost at every size (x1.13 wall time at
10,000 files), and `default_workers` keeps it off there.

Workers are forked from this process when it runs no other thread (the CLI), else from a fork
server (the Slack bot's analyses run on worker threads, and forking a threaded process can copy a
lock some other thread holds).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence

from bot.core.ingest.files import Archive, FileRead, not_read, read_file
from bot.core.limits import IngestLimits

PARALLEL_MIN_FILES = 1000
CHUNK_FILES = 16  # files per task sent to a worker: fewer round trips, still balanced

_archive: Archive | None = None  # a worker's view of the archive (set by `_start_worker`)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """One worker per CPU, when at least one CPU is idle now (the 1-minute load average): on a busy
    machine the workers only wait for each other (measured: ``bench_ingest.py``'s pool column)."""
    cpus = available_cpus()
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return cpus if cpus - busy >= 1 else 1


def read_files(root: str, rels: Sequence[str], max_file_bytes: int, *, workers: int | None = None,
               limits: IngestLimits | None = None,
               read_so_far: Callable[[], int] | None = None) -> Iterator[FileRead]:
    """Every file read, in order: here, or by ``workers`` processes when there are at least
    `PARALLEL_MIN_FILES` files and more than one worker. By default (``None``): `default_workers`
    in a process running one thread (the CLI); one in a threaded one (the Slack bot runs several
    analyses side by side, and a pool per analysis would multiply the memory one job may take).

    ``read_so_far``: the measurements the job holds so far (asked before each file; the caller adds
    each file's before the next is asked for). Once the job's budget is spent, the remaining files
    are skipped with that reason, unread. Here, each file may yield what the budget has left. A
    worker cannot know that (it reads ahead of what the job has placed), so it gives each file a
    whole budget, and the job's own check (`IngestLimits.job_skip`) leaves out a file that does
    not fit; once the budget is spent the pool is stopped, and what the workers read ahead is
    dropped unused."""
    if workers is None:
        workers = default_workers() if threading.active_count() == 1 else 1
    count = workers
    archive = Archive(root, rels, max_file_bytes, limits)
    budget = archive.limits
    held = read_so_far or (lambda: 0)
    if count < 2 or len(rels) < PARALLEL_MIN_FILES:
        for rel in rels:
            yield read_file(rel, archive, held())
        return
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")
    with context.Pool(count, initializer=_start_worker, initargs=(root, list(rels), max_file_bytes, limits)) as pool:
        for index, found in enumerate(pool.imap(_read, rels, chunksize=CHUNK_FILES)):
            if not budget.allowance(held()):
                rest = rels[index:]
                break
            yield found
        else:
            return
    # the pool is stopped (leaving the block terminates it): the rest is not read
    for rel in rest:
        yield not_read(rel, archive, held())


def _start_worker(root: str, rels: list[str], max_file_bytes: int, limits: IngestLimits | None) -> None:
    global _archive
    _archive = Archive(root, rels, max_file_bytes, limits)


def _read(rel: str) -> FileRead:
    assert _archive is not None
    return read_file(rel, _archive)
