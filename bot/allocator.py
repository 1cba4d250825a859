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
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

# <malloc.h>: mallopt's parameter numbers (glibc)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value of both, kept instead of raised
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
    """Fix glibc's mmap and trim thresholds at 128 KiB (see the module's docstring). True if mallopt took the
    setting (now or in an earlier call); False, and nothing changed, elsewhere. Never raises."""
    global _tuned
    with _lock:
        if _tuned is None:
            _tuned = _tune()
        return _tuned


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
