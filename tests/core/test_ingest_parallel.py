"""Reading an archive's files in worker processes gives exactly what reading them here gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.core.ingest import ingest_tree, parallel
from scripts.examplegen import generate_archive
from tests.paths import REAL_ARCHIVE


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parallel") / "archive"
    generate_archive(path, seed=7, scale=12)
    return path


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple:
    here = ingest_tree(path, workers=1)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 0)
    pooled = ingest_tree(path, workers=2)
    return here, pooled


@pytest.mark.parametrize("name", ["generated", "real"])
def test_workers_read_the_same_rows_and_inventory(name: str, generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = generated if name == "generated" else REAL_ARCHIVE
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    here, pooled = _both(path, monkeypatch)
    pd.testing.assert_frame_equal(here.measurements, pooled.measurements)
    pd.testing.assert_frame_equal(here.claims, pooled.claims)
    assert here.inventory == pooled.inventory
    assert here.rankings == pooled.rankings
    assert here.dimensions == pooled.dimensions


def test_small_archives_are_read_here(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a pool was started for a small archive")

    monkeypatch.setattr(parallel.multiprocessing, "get_context", no_pool)
    assert len(ingest_tree(generated, workers=2).measurements) > 0
