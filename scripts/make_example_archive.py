#!/usr/bin/env python3
"""Write the bundled example archive, `examples/example-archive.tar.gz`, from `scripts.examplegen`.

Deterministic: the same bytes on every run (sorted members, fixed mtime/uid/gid, gzip mtime 0), so
`tests/e2e/test_examplegen.py` can check the bundled file has not drifted from the generator.

    .venv/bin/python scripts/make_example_archive.py [--out PATH] [--seed N] [--scale N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file: make `scripts.examplegen` importable

from scripts.examplegen import generate_archive, pack_tar_gz

DEFAULT_OUT = ROOT / "examples" / "example-archive.tar.gz"
ARC_PREFIX = "example-archive/"
SEED = 7
SCALE = 1


def make_example_archive(out: Path = DEFAULT_OUT, *, seed: int = SEED, scale: int = SCALE) -> Path:
    with tempfile.TemporaryDirectory(prefix="example-archive-") as tmp:
        tree = Path(tmp) / "tree"
        generate_archive(tree, seed=seed, scale=scale)
        pack_tar_gz(tree, out, arc_prefix=ARC_PREFIX)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scale", type=int, default=SCALE)
    args = parser.parse_args(argv)
    out = make_example_archive(args.out, seed=args.seed, scale=args.scale)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
