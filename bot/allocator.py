"""The C allocator's policy for this process: fix glibc's mmap threshold (issue 15, memory).

Why: glibc's malloc serves a block of at least M_MMAP_THRESHOLD bytes (128 KiB at start) with its own
mmap, and gives it back to the system on free. But each time such a block is freed, glibc raises the
threshold to that block's size (up to 32 MiB on 64-bit): after the first large numpy/pandas temporary is
freed, the next ones of that size come from the heap, and a freed heap block stays in the process
(reused, but counted in RSS). An analysis makes many short-lived arrays of a few hundred KiB to a few
MiB, so the process's peak RSS at 10,000 files was ~15-20 B per measurement row higher than with the
threshold fixed (measured with MALLOC_MMAP_THRESHOLD_=131072). Setting the threshold through mallopt
fixes it and turns the dynamic raise off (glibc: ``mp_.no_dyn_threshold``). The raise also doubles the
trim threshold (how much free memory at the heap's top is kept rather than given back); it is set back
to its 128 KiB default too, so a call made after a raise (a long-running process, the tests) lands
where the environment variables would have put the process from its start.

The price (bench/bench_ingest.py, 10,000 files, interleaved with and without): the analysis takes
~0.1 s longer (~0.80 s against ~0.70 s; every big temporary is a fresh mmap whose pages are faulted in
again), ~1.5% of ingest + analysis; the real archive and the CLI did not move beyond noise. 256 KiB or
1 MiB saved less (peak 174 and 176-179 B/row against 171) for no measurable speed gain.

Everything here is best effort: on a C library without ``mallopt`` (musl, macOS, Windows) or on any
error, nothing happens. An operator's own ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` in
the environment wins (glibc read it at start; this then changes nothing).

The same call raises CPython's cyclic collector's first threshold from 700 to `YOUNG_COLLECTION_AFTER`
allocations (on every platform; never lowered, and a collector turned off stays off). Reading an archive
allocates hundreds of thousands of short-lived containers (records, rows, cells) that reference counting
frees anyway: at 700, an ingest + analysis of the 101-file real archive ran ~10 young collections
(~0.9 ms); at 10,000, ~1.1 ms less per call (66.0 against 67.0 ms, medians of 6 x 7 interleaved calls;
20,000 and 50,000 gained no more). The memory a young generation of 10,000 containers holds is a few MB
at most, and only for cycles, which nothing here makes on purpose.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
from typing import Any

# <malloc.h>: mallopt's parameter numbers (glibc)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value of both, kept instead of raised
YOUNG_COLLECTION_AFTER = 10_000  # the cyclic collector's first threshold (CPython's default: 700)
ENVIRONMENT_OVERRIDES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_lock = threading.Lock()
_tuned: bool | None = None  # None: not tried yet; then what the first call returned


def _libc() -> Any | None:
    """The process's C library if it is glibc-like (has ``mallopt``), else None."""
    for name in (None, "libc.so.6"):
        try:
            libc = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(libc, "mallopt"):
            return libc
    return None


def tune_allocator() -> bool:
    """Fix glibc's mmap and trim thresholds at 128 KiB, and raise the cyclic collector's first threshold
    (see the module's docstring). True if mallopt took the setting (now or in an earlier call); False,
    and the C allocator unchanged, elsewhere. Never raises."""
    global _tuned
    with _lock:
        if _tuned is None:
            _tune_collector()
            _tuned = _tune()
        return _tuned


def _tune_collector() -> None:
    young, *older = gc.get_threshold()
    if 0 < young < YOUNG_COLLECTION_AFTER:  # (0: the collector is off; a higher threshold is someone's choice)
        gc.set_threshold(YOUNG_COLLECTION_AFTER, *older)


def _tune() -> bool:
    if any(name in os.environ for name in ENVIRONMENT_OVERRIDES):  # the operator's choice stands
        return False
    try:
        libc = _libc()
        if libc is None:
            return False
        mallopt = libc.mallopt
        mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
        # 1 on success, 0 on error; both are tried (`&` does not short-circuit)
        return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES) & mallopt(M_TRIM_THRESHOLD, THRESHOLD_BYTES))
    except Exception:  # a tuning, never a reason for the product to fail
        return False
