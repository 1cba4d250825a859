"""Folder archives cannot be swapped, hard-linked or deleted into reading something else, or into
an internal error (issue 12, item 6).

Attacks, on a folder inside the storage root:
- after the bot has looked at the folder, a file is swapped for a symlink to a secret outside the
  root and a subfolder for a symlink to an outside folder (the race: ingest used to read by path);
- the folder itself (or a folder above it) is swapped for a symlink between resolving the name and
  opening it;
- a file in the folder is a hard link to a file outside it;
- the folder is deleted while the run goes on; a listed file vanishes before ingest reads it.
Expected: nothing outside the root is read; the swapped folder is refused; the hard link is
skipped with its reason (hard links whose every name is inside are read); deletions are skips or
clear errors, never "internal error".
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.adapters import storage as storage_module
from bot.adapters.extract import open_archive, open_location
from bot.app import build_pipeline
from bot.core.ingest import ingest_tree
from bot.errors import ArchiveError
from tests.factories import make_settings

CSV = "model,tokens_s,ttft_ms\nm:1b,50,100\nm:1b,52,110\n"
SECRET = "model,tokens_s\nTOP-SECRET-MODEL,1\n"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(storage root, the folder archive storage/nightly/run, a folder outside the root)."""
    root = tmp_path / "storage"
    run = root / "nightly" / "run"
    (run / "sub").mkdir(parents=True)
    (run / "results.csv").write_text(CSV)
    (run / "sub" / "more.csv").write_text(CSV.replace("m:1b", "m:2b"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(SECRET)
    (outside / "more.csv").write_text(SECRET)
    return root, run, outside


def settings_for(tmp_path: Path, root: Path):
    return make_settings(storage_roots=[str(root)], work_dir=tmp_path / "work")


def test_files_swapped_for_symlinks_during_the_run_are_never_read(tmp_path, layout):
    root, run, outside = layout

    def swap_after_fetch(step: str) -> None:
        if step == "fetched":  # the bot has the folder; ingest has not read a byte yet
            (run / "results.csv").unlink()
            os.symlink(outside / "secret.csv", run / "results.csv")
            shutil.rmtree(run / "sub")
            os.symlink(outside, run / "sub")

    result = build_pipeline(settings_for(tmp_path, root)).run("nightly/run", use_llm=False,
                                                             progress=swap_after_fetch)
    assert "TOP-SECRET-MODEL" not in result.report_md + str(result.data)
    assert {m["model"] for m in result.data["models"]} == {"m:1b", "m:2b"}  # what was there when opened


@pytest.mark.parametrize("swapped", ["nightly/run", "nightly"])
def test_a_folder_swapped_for_a_symlink_after_resolving_is_refused(tmp_path, layout, swapped):
    root, _run, outside = layout
    settings = settings_for(tmp_path, root)
    location = storage_module.resolve("nightly/run", settings=settings)
    (root / swapped).rename(tmp_path / "moved-away")
    if swapped == "nightly":
        (outside / "run").mkdir()
        (outside / "run" / "secret.csv").write_text(SECRET)
    os.symlink(outside, root / swapped)
    with pytest.raises(ArchiveError, match="changed into a link"), open_location(location, settings=settings):
        pass


def test_a_hard_link_to_a_file_outside_the_folder_is_skipped(tmp_path, layout):
    root, run, outside = layout
    os.link(outside / "secret.csv", run / "leak.csv")
    os.link(run / "results.csv", run / "sub" / "same-results.csv")  # both names inside: fine
    with open_archive("nightly/run", settings=settings_for(tmp_path, root)) as tree:
        reasons = {s.path: s.reason for s in tree.skipped}
        copied = {rel: (tree.root / rel).read_text() for rel in tree.files}
    assert reasons == {"leak.csv": "hard link to a file outside the folder (2 names, 1 inside); not read"}
    assert sorted(copied) == ["results.csv", "sub/more.csv", "sub/same-results.csv"]
    assert "TOP-SECRET-MODEL" not in "".join(copied.values())


def test_a_folder_deleted_mid_run_is_neither_an_internal_error_nor_half_read(tmp_path, layout):
    root, run, _outside = layout

    def delete_after_fetch(step: str) -> None:
        if step == "fetched":
            shutil.rmtree(run)

    result = build_pipeline(settings_for(tmp_path, root)).run("nightly/run", use_llm=False,
                                                             progress=delete_after_fetch)
    assert result.data["inventory"]["files_total"] == 2 and result.data["requests"]["total"] == 4


def test_a_folder_deleted_before_it_is_opened_is_a_clear_error(tmp_path, layout):
    root, run, _outside = layout
    settings = settings_for(tmp_path, root)
    location = storage_module.resolve("nightly/run", settings=settings)
    shutil.rmtree(run)
    with pytest.raises(ArchiveError, match="no longer exists"), open_location(location, settings=settings):
        pass


def test_a_file_that_vanishes_before_ingest_reads_it_is_a_skip_with_its_reason(tmp_path):
    (tmp_path / "results.csv").write_text(CSV)
    result = ingest_tree(tmp_path, files=["gone.csv", "results.csv"])
    assert [(s.path, s.reason) for s in result.inventory.skipped] == [
        ("gone.csv", "cannot read (No such file or directory)")]
    assert len(result.measurements) > 0
