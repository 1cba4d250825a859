"""What a run stores of an ingest (`IngestResult.stored_measurements`, as the analysis job and the digest
save it) holds each row's identifiers as written, in a real SQLite database: the identifiers ingest
keeps packed (`bot.core.ingest.packed`) are stored as the frame that held them as texts stored them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from bot.adapters.db import open_store
from bot.core.ingest import ingest_tree
from bot.core.types import MEASUREMENT_COLUMNS
from tests.core.test_packed_identifiers import archive_with_identifiers, expected_identifiers


def test_the_database_holds_each_rows_identifiers(tmp_path: Path) -> None:
    ingest = ingest_tree(archive_with_identifiers(tmp_path / "archive"))
    path = tmp_path / "chimera.sqlite3"
    with open_store(f"sqlite:///{path}") as store:
        run = store.runs.create_run(archive="archive", trigger="cli")
        with pytest.raises(ValueError, match="lack columns: identifiers"):  # the ingest frame alone is refused
            store.runs.finish_run(run.id, status="done", measurements=ingest.measurements)
        store.runs.finish_run(run.id, status="done", measurements=ingest.stored_measurements())
        loaded = store.runs.load_measurements(run.id)
    with sqlite3.connect(path) as conn:
        stored = [row[0] for row in conn.execute("SELECT identifiers FROM measurements ORDER BY id")]
    assert stored == expected_identifiers()  # the texts themselves, non-ASCII as written
    assert list(loaded.columns) == list(MEASUREMENT_COLUMNS)
    expected = ingest.stored_measurements()
    for name in MEASUREMENT_COLUMNS:  # every column reads back as stored (texts as texts)
        want = expected[name]
        if isinstance(want.dtype, pd.CategoricalDtype):
            want = want.astype(object)
        pd.testing.assert_series_equal(loaded[name], want.astype(loaded[name].dtype), check_names=False)
