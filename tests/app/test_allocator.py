"""bot.allocator: on glibc, tune_allocator really fixes the mmap threshold (a freed big block no longer
raises it), calling it again is harmless, and an operator's environment setting wins.

Each case runs in a fresh interpreter: the allocator's state is per process, and the test process's
own (numpy's, pandas' earlier frees) must neither help nor hide the effect."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT


def _glibc() -> bool:
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    return hasattr(libc, "mallopt") and hasattr(libc, "mallinfo2")


pytestmark = pytest.mark.skipif(not _glibc(), reason="needs glibc (mallopt, mallinfo2 from 2.33)")

# Frees a 4 MiB block (untuned glibc then raises its mmap threshold to 4 MiB), then allocates 1 MiB
# and prints whether that block got its own mmap (mallinfo2's hblks: the count of mmapped blocks).
PROBE = """
import ctypes, sys
FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tuned":
    from bot.allocator import tune_allocator
    print(tune_allocator(), tune_allocator())
big = libc.malloc(4 << 20)
libc.free(big)
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)
print("mmapped" if libc.mallinfo2().hblks > before else "heap")
libc.free(block)
"""


def _probe(mode: str, **extra_env: str) -> list[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    env.update(PYTHONPATH=str(REPO_ROOT), **extra_env)
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, check=True, timeout=60)
    return done.stdout.split("\n")[:-1]


def test_untuned_glibc_raises_its_threshold_after_a_big_free() -> None:
    """The control: without the tuning, the 1 MiB block comes from the heap (the effect exists here)."""
    assert _probe("plain") == ["heap"]


def test_tuned_glibc_keeps_giving_big_blocks_their_own_mmap_and_a_second_call_is_harmless() -> None:
    assert _probe("tuned") == ["True True", "mmapped"]


def test_the_operators_environment_setting_wins() -> None:
    """MALLOC_MMAP_THRESHOLD_ (read by glibc at start) is left alone: tune_allocator does nothing."""
    assert _probe("tuned", MALLOC_MMAP_THRESHOLD_="4194304") == ["False False", "heap"]


def test_in_this_process_it_is_idempotent_and_never_raises() -> None:
    from bot.allocator import tune_allocator

    first = tune_allocator()
    assert tune_allocator() is first
    assert first is ("MALLOC_MMAP_THRESHOLD_" not in os.environ and "MALLOC_TRIM_THRESHOLD_" not in os.environ)


COLLECTOR = """
import gc, sys
if sys.argv[1] != "default":
    gc.set_threshold(int(sys.argv[1]), 10, 10)
from bot.allocator import tune_allocator
tune_allocator()
print(gc.get_threshold()[0])
"""


@pytest.mark.parametrize(("before", "after"), [("default", "10000"), ("0", "0"), ("50000", "50000"),
                                               ("9999", "10000")])
def test_the_young_collection_threshold_is_raised_never_lowered_nor_turned_on(before: str, after: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", COLLECTOR, before], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, check=True, timeout=60)
    assert done.stdout.split() == [after]
