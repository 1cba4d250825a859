"""Golden digests: what the product outputs for fixed archives, as SHA-256 of the canonical output.

A digest stands for the whole JSON document (`--json`) and the Markdown report of one archive,
timings aside: ``timings_s``, ``generated_at`` and ``archive`` (the path it was read from) are left
out of the JSON; the report's first line (its title, naming the path), the time it was written
and its Metrics footer (timings) out of the Markdown. Every other byte counts, so a test comparing digests proves that a
change (e.g. a faster ingest) changed no figure, no fact id and no wording.

Only digests are stored (``tests/e2e/golden_digests.json``), never the data. Re-record them only
for a change that is *meant* to change outputs, and say so in the commit:

    .venv/bin/python -m tests.golden --record
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.paths import REAL_ARCHIVE, REALWORLD, REALWORLD_ARCHIVES, REPO_ROOT

GOLDEN_FILE = Path(__file__).resolve().parent / "e2e" / "golden_digests.json"
VOLATILE_KEYS = ("timings_s", "generated_at", "archive")
GENERATED_SCALE = 12  # scripts.examplegen: 8 * 12 + 7 = 103 files, same bytes on every machine


P_VALUE_DIGITS = 8


def canonical_json(document: dict[str, Any]) -> str:
    """The document without its volatile keys, keys sorted, compact, UTF-8 kept; p-values to
    ``P_VALUE_DIGITS`` significant digits.

    Why p-values are rounded here: they come from our own Student-t CDF (bot/core/tdist.py, issue 15:
    scipy.special cost a third of `import pandas` to import), which agrees with the scipy.special.stdtr
    the digests were first recorded with to ~1e-11 relative (tests/core/test_tdist.py), not to the
    last bit. Reports show two digits; every other number is compared to the byte."""
    stable = {key: value for key, value in document.items() if key not in VOLATILE_KEYS}
    return json.dumps(_rounded_p_values(stable), sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def _rounded_p_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (float(f"{item:.{P_VALUE_DIGITS}g}") if key == "p_value" and isinstance(item, float)
                      else _rounded_p_values(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded_p_values(item) for item in value]
    return value


_GENERATED_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def stable_report(report_md: str) -> str:
    """The Markdown report without its title line (the archive's path), the time it was written and
    its Metrics footer (timings)."""
    body = report_md.split("\n## Metrics\n", 1)[0]
    body = body.split("\n", 1)[1] if "\n" in body else ""
    return _GENERATED_AT.sub("<time>", body, count=1)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digests_of(target: Path) -> dict[str, str]:
    """{'json': sha256, 'report': sha256} of the product's output for ``target`` (no LLM)."""
    from bot.app import build_pipeline
    from tests.factories import make_settings

    with tempfile.TemporaryDirectory(prefix="chimera-golden-") as work:
        settings = make_settings(storage_roots=[str(Path(work) / "none")], work_dir=Path(work))
        result = build_pipeline(settings).run(str(target), use_llm=False, allow_local_paths=True)
    return {"json": _sha(canonical_json(result.data)), "report": _sha(stable_report(result.report_md))}


@contextmanager
def _generated() -> Iterator[Path]:
    from scripts.examplegen import generate_archive

    with tempfile.TemporaryDirectory(prefix="chimera-golden-gen-") as tmp:
        path = Path(tmp) / "generated"
        generate_archive(path, seed=7, scale=GENERATED_SCALE)
        yield path


@contextmanager
def _fixed(path: Path) -> Iterator[Path]:
    yield path


def archives() -> dict[str, Callable[[], Any]]:
    """name -> a context manager giving the archive's path (``None`` when it is absent here)."""
    out: dict[str, Callable[[], Any]] = {
        "examples/example-archive.tar.gz": lambda: _fixed(REPO_ROOT / "examples" / "example-archive.tar.gz"),
        f"generated seed 7 scale {GENERATED_SCALE}": _generated,
        "shared/chimera-reports": lambda: _fixed(REAL_ARCHIVE),
    }
    for name in REALWORLD_ARCHIVES:
        out[f"shared/realworld/{name}"] = (lambda n=name: _fixed(REALWORLD / n))
    return out


def load_golden() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    return data


def record() -> int:
    found: dict[str, dict[str, str]] = {}
    for name, open_archive in archives().items():
        with open_archive() as path:
            if not path.exists():
                print(f"{name}: absent, not recorded", file=sys.stderr)
                continue
            found[name] = digests_of(path)
            print(f"{name}: {found[name]['json'][:16]} {found[name]['report'][:16]}", file=sys.stderr)
    GOLDEN_FILE.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--record", action="store_true", help=f"write {GOLDEN_FILE.name}")
    args = parser.parse_args(argv)
    if args.record:
        return record()
    for name, open_archive in archives().items():
        with open_archive() as path:
            if path.exists():
                print(name, json.dumps(digests_of(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
