"""Byte-identical copies of a file: the first (in the archive's order) is read, the others are listed
as its duplicates without being parsed, whichever way the archive is read."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.core.ingest.parallel as parallel
from bot.core.ingest import ingest_tree
from bot.core.ingest.files import Archive, list_files, read_file
from tests.ingest_support import write_tree

TABLE = "model,ttft_s,tokens_s\nm:1b,0.1,50\nm:1b,0.2,55\n"
FILES: dict[str, str | bytes] = {"a/runs.csv": TABLE, "b/runs.csv": TABLE, "b/other.csv": TABLE.replace("55", "56"),
         "c/broken.csv": "\x00\x00", "d/broken.csv": "\x00\x00"}


def test_a_copy_read_after_its_original_is_not_parsed(tmp_path: Path) -> None:
    root = write_tree(tmp_path, FILES)
    rels = list_files(str(root))
    archive = Archive(str(root), rels, 1 << 20)
    first, copy = read_file("a/runs.csv", archive), read_file("b/runs.csv", archive)
    assert first.rows is not None and len(first.rows) == 4
    assert copy.digest == first.digest and copy.rows is None and not copy.inventory.parsed
    assert read_file("b/other.csv", archive).rows is not None  # other bytes: read


def test_read_out_of_order_both_copies_are_parsed(tmp_path: Path) -> None:
    root = write_tree(tmp_path, FILES)
    archive = Archive(str(root), list_files(str(root)), 1 << 20)
    later, earlier = read_file("b/runs.csv", archive), read_file("a/runs.csv", archive)
    assert later.rows is not None and earlier.rows is not None


@pytest.mark.parametrize("workers", [1, 2])
def test_the_archive_lists_copies_as_duplicates(tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 0)
    result = ingest_tree(write_tree(tmp_path, FILES), workers=workers)
    assert result.inventory.duplicates == [("a/runs.csv", "b/runs.csv")]
    assert sorted(result.measurements["source"].unique()) == ["a/runs.csv", "b/other.csv"]
    skipped = {s.path: s.reason for s in result.inventory.skipped}
    assert skipped["d/broken.csv"].startswith("identical to c/broken.csv, skipped: undecodable bytes")
