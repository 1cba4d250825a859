"""Builders for normal and hostile archives (tar, zip, folders) used by the archive/storage tests.

Everything is written with the standard library into a directory the test owns (``tmp_path``);
hostile shapes (traversal, links, devices, bombs, lying headers) are produced the way an attacker
would: by writing the raw entries, not through our own code.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile
from pathlib import Path

from bot.settings import Settings
from tests.factories import make_settings

SAMPLE_FILES: dict[str, bytes] = {
    "results.csv": b"model,tokens_s\ngemma3:270m,290.1\n",
    "runs/run1.json": b'{"model": "gemma3:270m", "tokens_s": 288.0}\n',
    "README.md": b"# nightly\n",
}


def archive_settings(
    tmp_path: Path, roots: list[str] | None = None, **overrides: object
) -> Settings:
    """Settings for a test: explicit roots and a work dir inside ``tmp_path``, small sane limits."""
    values: dict[str, object] = {
        "storage_roots": roots if roots is not None else [str(tmp_path / "storage")],
        "work_dir": tmp_path / "work",
        "max_archive_bytes": 64 * 1024 * 1024,
        "max_uncompressed_bytes": 256 * 1024 * 1024,
        "max_members": 1000,
        "max_file_bytes": 16 * 1024 * 1024,
    }
    values.update(overrides)
    return make_settings(**values)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def make_tar(path: Path, files: dict[str, bytes], *, mode: str = "w:gz") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as tar:
        for rel, data in files.items():
            add_tar_member(tar, rel, data=data)
    return path


def add_tar_member(
    tar: tarfile.TarFile,
    name: str,
    *,
    data: bytes = b"",
    kind: bytes = tarfile.REGTYPE,
    linkname: str = "",
) -> None:
    """Add a raw entry of any type (symlink, hard link, device, FIFO…) with any name."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    if kind == tarfile.CHRTYPE:
        # /dev/null's numbers; only creating such a node would need root, describing it does not
        info.devmajor, info.devminor = 1, 3
    if kind in (tarfile.REGTYPE, tarfile.AREGTYPE):
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def hostile_tar(
    path: Path, name: str, *, kind: bytes = tarfile.REGTYPE, linkname: str = ""
) -> Path:
    """A .tar.gz holding one harmless file and then one hostile entry ``name``."""
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        add_tar_member(tar, "ok.csv", data=b"a,b\n1,2\n")
        add_tar_member(tar, name, data=b"owned\n", kind=kind, linkname=linkname)
    return path


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, data in files.items():
            archive.writestr(rel, data)
    return path


def zip_with_mode(path: Path, name: str, data: bytes, mode: int) -> Path:
    """A zip with one entry whose Unix mode marks it as e.g. a symlink (data = link target)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the high 16 bits of external_attr are st_mode
    info.external_attr = mode << 16
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.csv", b"a,b\n1,2\n")
        archive.writestr(info, data)
    return path


def zip_of_zeros(path: Path, members: dict[str, int]) -> Path:
    """A zip whose members are N zero bytes each: megabytes that deflate to a few kilobytes."""
    block = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, size in members.items():
            with archive.open(name, "w", force_zip64=False) as out:
                left = size
                while left:
                    out.write(block[: min(left, len(block))])
                    left -= min(left, len(block))
    return path


def patch_zip_sizes(path: Path, uncompressed: int) -> None:
    """Make every header of a zip claim ``uncompressed`` bytes (a lying zip bomb)."""
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (found := raw.find(signature, start)) != -1:
            struct.pack_into("<I", raw, found + offset, uncompressed)
            start = found + 4
    path.write_bytes(bytes(raw))


def set_zip_utf8_flag_with_bad_name(path: Path, good: bytes, bad: bytes) -> None:
    """Rewrite a member name to invalid UTF-8 bytes while the header claims UTF-8 (flag 0x800)."""
    assert len(good) == len(bad)
    raw = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        found = raw.find(signature)
        flags = struct.unpack_from("<H", raw, found + flag_at)[0]
        struct.pack_into("<H", raw, found + flag_at, flags | 0x800)
    path.write_bytes(bytes(raw).replace(good, bad))


def random_bytes_file(path: Path, size: int = 4096) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def truncated_copy(source: Path, dest: Path, *, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest


def incompressible(size: int, seed: int = 7) -> bytes:
    """Deterministic bytes that gzip cannot shrink, so truncating the archive cuts real data."""
    import random

    return random.Random(seed).randbytes(size)
