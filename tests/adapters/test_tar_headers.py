"""tar headers are bounded before they are read (issue 12, item 1b).

Attack: a ~200 KB .tar.gz whose GNU long-name or pax header declares (and holds) 200 MB; tarfile
read such headers whole (4x their size in memory: the issue's 612 KB archive cost 6.9 GB). Also a
chain of extended headers, pax global headers adding up, an endless old-GNU sparse map. Expected:
the archive is refused with a message naming the member, and the extraction's peak RSS, measured
in a subprocess, stays within the README's bound. Ordinary long names still extract.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from bot.adapters.extract import MAX_HEADER_CHAIN, MAX_TAR_HEADER_BYTES, open_archive
from bot.errors import UnsafeArchive
from tests import tar_attacks
from tests.factories import make_settings
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
# README "Limits": extracting an archive with hostile headers adds at most this to peak RSS.
MAX_GROWTH_KB = 16 * 1024
ATTACK_BYTES = 200 * 1024 * 1024


def extract_in_subprocess(archive: Path, work: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "tests.memory_probe", "extract", str(archive), str(work)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("build, kind", [
    (lambda p: tar_attacks.long_name_archive(p, name_bytes=ATTACK_BYTES), "GNU long-name header"),
    (lambda p: tar_attacks.pax_archive(p, pax_bytes=ATTACK_BYTES), "pax extended header"),
])
def test_a_huge_header_is_refused_before_it_is_read(tmp_path, build, kind):
    archive = build(tmp_path / "attack.tar.gz")
    assert archive.stat().st_size < 400 * 1024  # small on disk, 200 MB once inflated
    outcome = extract_in_subprocess(archive, tmp_path / "work")
    assert outcome["ok"] is False and outcome["type"] == "UnsafeArchive"
    assert f"has a {kind} of 209,715,200 bytes" in outcome["error"]
    growth = outcome["hwm_after_kb"] - outcome["hwm_before_kb"]
    assert growth <= MAX_GROWTH_KB, f"peak RSS grew by {growth} kB"


def test_the_largest_headers_the_limits_allow_stay_within_the_bound(tmp_path):
    archive = tar_attacks.largest_allowed_archive(tmp_path / "max.tar.gz", header_bytes=MAX_TAR_HEADER_BYTES,
                                                  chain=MAX_HEADER_CHAIN)
    outcome = extract_in_subprocess(archive, tmp_path / "work")
    assert outcome["ok"] is True  # read (its 256 KB name is then skipped as unusable here)
    growth = outcome["hwm_after_kb"] - outcome["hwm_before_kb"]
    assert growth <= MAX_GROWTH_KB, f"peak RSS grew by {growth} kB"


def refused(archive: Path, tmp_path: Path) -> str:
    settings = make_settings(work_dir=tmp_path / "work")
    with pytest.raises(UnsafeArchive) as err, open_archive(str(archive), settings=settings, allow_local_paths=True):
        pass
    return str(err.value)


def test_more_extended_headers_in_a_row_than_allowed_is_refused(tmp_path):
    message = refused(tar_attacks.header_chain_archive(tmp_path / "a.tar.gz", headers=MAX_HEADER_CHAIN + 1),
                      tmp_path)
    assert f"preceded by more than {MAX_HEADER_CHAIN} extended headers" in message


def test_pax_global_headers_share_one_budget(tmp_path):
    archive = tar_attacks.global_headers_archive(tmp_path / "a.tar.gz", members=10,
                                                 each_bytes=MAX_TAR_HEADER_BYTES // 4)
    assert "brings the pax global headers past" in refused(archive, tmp_path)


def test_an_endless_sparse_map_is_refused(tmp_path):
    archive = tar_attacks.sparse_archive(tmp_path / "a.tar.gz", extension_blocks=10_000)
    assert "member 'sparse.csv' has a sparse map beyond" in refused(archive, tmp_path)


def test_ordinary_long_names_and_pax_headers_still_extract(tmp_path):
    deep = "/".join(["benchmark-results-folder"] * 6) + "/" + "r" * 120 + ".csv"  # > 100 chars: GNU/pax
    for fmt, name in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax")):
        path = tmp_path / f"{name}.tar.gz"
        with tarfile.open(path, "w:gz", format=fmt) as tar:
            data = b"model,tokens_s\nm:1b,50\n"
            info = tarfile.TarInfo(deep)
            info.size = len(data)
            info.pax_headers = {"comment": "x" * 1000} if fmt == tarfile.PAX_FORMAT else {}
            tar.addfile(info, io.BytesIO(data))
        with open_archive(str(path), settings=make_settings(work_dir=tmp_path / "work"),
                          allow_local_paths=True) as tree:
            assert tree.files == [deep], name
