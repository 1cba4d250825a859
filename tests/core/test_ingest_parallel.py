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
    # the identifiers too (packed apart from the frame, `bot.core.ingest.packed`)
    pd.testing.assert_frame_equal(here.stored_measurements(), pooled.stored_measurements())
    pd.testing.assert_frame_equal(here.claims, pooled.claims)
    assert here.inventory == pooled.inventory
    assert here.rankings == pooled.rankings
    assert here.dimensions == pooled.dimensions


def test_small_archives_are_read_here(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a pool was started for a small archive")

    monkeypatch.setattr(parallel.multiprocessing, "get_context", no_pool)
    assert len(ingest_tree(generated, workers=2).measurements) > 0


def test_a_threaded_process_reads_in_process_by_default(tmp_path, monkeypatch):
    # The bot runs analyses on worker threads: by default no pool per analysis (memory per job).
    import threading

    from bot.core.ingest import parallel

    started: list[int] = []
    monkeypatch.setattr(parallel.multiprocessing, "get_context", lambda *_a: started.append(1))
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 2)
    for i in range(3):
        (tmp_path / f"r{i}.csv").write_text(f"model,tokens_s\nm{i},{10 + i}\n", encoding="utf-8")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        reads = list(parallel.read_files(str(tmp_path), ["r0.csv", "r1.csv", "r2.csv"], 1 << 20))
    finally:
        stop.set()
        other.join()
    assert [r.rel for r in reads] == ["r0.csv", "r1.csv", "r2.csv"] and started == []
