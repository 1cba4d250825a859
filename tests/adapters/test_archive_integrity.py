"""Compressed archives are verified before anything is read (issue 12, item 6).

Attack: a .tar.gz whose gzip CRC-32 (or length) does not match its contents, and a .zip whose
member does not match its CRC-32: the bytes were corrupted, and the report used to state numbers
computed from them. Expected: the archive is refused with a message saying it is damaged, and
nothing is ingested.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest

from bot.adapters.extract import open_archive
from bot.cli import main
from bot.errors import ArchiveError
from tests.factories import make_settings

CSV = b"model,tokens_s,ttft_ms\nm:1b,50,100\nm:1b,52,110\n"


def tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def with_trailer(path: Path, *, crc_delta: int = 0, size_delta: int = 0) -> Path:
    raw = bytearray(path.read_bytes())
    crc, size = struct.unpack("<II", raw[-8:])
    raw[-8:] = struct.pack("<II", (crc + crc_delta) & 0xFFFFFFFF, (size + size_delta) & 0xFFFFFFFF)
    path.write_bytes(bytes(raw))
    return path


def open_it(path: Path, tmp_path: Path) -> None:
    with open_archive(str(path), settings=make_settings(work_dir=tmp_path / "work"), allow_local_paths=True):
        pass


@pytest.mark.parametrize("damage", [{"crc_delta": 1}, {"size_delta": 7}])
def test_a_gzip_whose_checksum_does_not_match_is_refused(tmp_path, damage):
    archive = with_trailer(tar_gz(tmp_path / "a.tar.gz", {"r.csv": CSV}), **damage)
    with pytest.raises(ArchiveError, match="is damaged: a checksum does not match its contents"):
        open_it(archive, tmp_path)
    assert not any((tmp_path / "work").iterdir())  # scratch removed, nothing left to read


def test_the_cli_refuses_a_damaged_gzip_and_reports_no_numbers(tmp_path, capsys):
    archive = with_trailer(tar_gz(tmp_path / "a.tar.gz", {"r.csv": CSV}), crc_delta=1)
    assert main(["analyze", str(archive), "--no-llm", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "is damaged" in captured.err


def test_a_zip_member_that_does_not_match_its_crc_is_refused(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("r.csv", CSV)
    raw = path.read_bytes()
    at = raw.index(b"m:1b,50")
    path.write_bytes(raw[:at] + b"m:1b,90" + raw[at + 7:])  # the stored bytes change, the CRC does not
    with pytest.raises(ArchiveError, match=r"is damaged.*Bad CRC-32"):
        open_it(path, tmp_path)


def test_intact_archives_still_open(tmp_path):
    with open_archive(str(tar_gz(tmp_path / "a.tar.gz", {"r.csv": CSV})), allow_local_paths=True,
                      settings=make_settings(work_dir=tmp_path / "work")) as tree:
        assert tree.files == ["r.csv"]
