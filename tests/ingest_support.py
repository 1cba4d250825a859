"""Helpers for ingest tests: write a small archive directory and read it back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bot.core.ingest import ingest_tree
from bot.core.types import IngestResult


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def ingest_files(tmp_path: Path, files: dict[str, str | bytes]) -> IngestResult:
    root = write_tree(tmp_path / "archive", files)
    return ingest_tree(root)


def values(result: IngestResult, metric: str, *, failed: bool | None = False, **where: str) -> list[float]:
    m = result.measurements
    mask = m["metric"] == metric
    if failed is not None:
        mask &= m["failed"] == failed
    for column, wanted in where.items():
        mask &= m[column] == wanted
    return sorted(round(v, 6) for v in m.loc[mask, "value"])


def skipped(result: IngestResult) -> dict[str, str]:
    return {s.path: s.reason for s in result.inventory.skipped}


def wide(result: IngestResult) -> pd.DataFrame:
    m = result.measurements
    return m.pivot_table(index="request_id", columns="metric", values="value", aggfunc="first")
