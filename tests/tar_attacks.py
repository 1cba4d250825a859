"""Hostile .tar.gz archives whose *headers* are huge (for the extraction tests and bench/).

Each is written by streaming through gzip, so building a 200 MB header costs a few MB of memory
and a few hundred KB of disk: the point is that reading it must cost no more.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

BLOCK = 512
_CHUNK = 1024 * 1024


def _header(name: str, *, size: int, type_: bytes, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = type_
    return info.tobuf(format=fmt, encoding="utf-8", errors="surrogateescape")


def _regular(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return raw[: BLOCK + -(-len(data) // BLOCK) * BLOCK]  # header and data, without the end blocks


def _stream(out: gzip.GzipFile, byte: bytes, count: int) -> None:
    chunk = byte * _CHUNK
    left = count
    while left > 0:
        out.write(chunk[: min(left, _CHUNK)])
        left -= min(left, _CHUNK)
    out.write(b"\0" * (-count % BLOCK))


def long_name_archive(path: Path, *, name_bytes: int) -> Path:
    """A GNU long-name header declaring (and holding) a ``name_bytes`` name, then a real file."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(_header("././@LongLink", size=name_bytes, type_=tarfile.GNUTYPE_LONGNAME))
        _stream(out, b"a", name_bytes)
        out.write(_regular("results.csv", b"model,tokens_s\nm:1b,50\n"))
        out.write(b"\0" * BLOCK * 2)
    return path


def pax_archive(path: Path, *, pax_bytes: int, type_: bytes = tarfile.XHDTYPE) -> Path:
    """A pax header of ``pax_bytes``: one record ``<len> comment=aaaa…``, then a real file."""
    prefix_len = len(" comment=") + 1  # + the trailing newline
    digits = len(str(pax_bytes))
    value_len = pax_bytes - digits - prefix_len
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(_header("././@PaxHeader", size=pax_bytes, type_=type_, fmt=tarfile.USTAR_FORMAT))
        out.write(f"{pax_bytes} comment=".encode())
        left = value_len
        chunk = b"a" * _CHUNK
        while left > 0:
            out.write(chunk[: min(left, _CHUNK)])
            left -= min(left, _CHUNK)
        out.write(b"\n")
        out.write(b"\0" * (-pax_bytes % BLOCK))
        out.write(_regular("results.csv", b"model,tokens_s\nm:1b,50\n"))
        out.write(b"\0" * BLOCK * 2)
    return path


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return f"{length}{body}".encode()


def header_chain_archive(path: Path, *, headers: int) -> Path:
    """``headers`` small pax extended headers in a row in front of one file."""
    with gzip.open(path, "wb") as out:
        for i in range(headers):
            record = _pax_record("comment", f"header {i}")
            out.write(_header("././@PaxHeader", size=len(record), type_=tarfile.XHDTYPE, fmt=tarfile.USTAR_FORMAT))
            out.write(record + b"\0" * (-len(record) % BLOCK))
        out.write(_regular("results.csv", b"model,tokens_s\nm:1b,50\n"))
        out.write(b"\0" * BLOCK * 2)
    return path


def global_headers_archive(path: Path, *, members: int, each_bytes: int) -> Path:
    """``members`` files, each after a pax global header of about ``each_bytes`` (distinct keys)."""
    with gzip.open(path, "wb") as out:
        for i in range(members):
            record = _pax_record(f"chimera.k{i}", "v" * each_bytes)
            out.write(_header("././@PaxHeader", size=len(record), type_=tarfile.XGLTYPE, fmt=tarfile.USTAR_FORMAT))
            out.write(record + b"\0" * (-len(record) % BLOCK))
            out.write(_regular(f"r{i}.csv", b"model,tokens_s\nm:1b,50\n"))
        out.write(b"\0" * BLOCK * 2)
    return path


def sparse_archive(path: Path, *, extension_blocks: int) -> Path:
    """An old-GNU sparse member whose map goes on for ``extension_blocks`` 512-byte blocks."""
    header = bytearray(_header("sparse.csv", size=0, type_=tarfile.GNUTYPE_SPARSE))
    header[482] = 1  # isextended
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    entry = b"00000000001\0" + b"00000000001\0"
    block = entry * 21 + b"\1" + b"\0" * 7
    with gzip.open(path, "wb") as out:
        out.write(bytes(header))
        for _ in range(extension_blocks):
            out.write(block)
        out.write(b"\0" * BLOCK * 2)
    return path


def largest_allowed_archive(path: Path, *, header_bytes: int, chain: int) -> Path:
    """The most the limits let through in front of one member: ``chain - 1`` pax headers and a
    GNU long name, each just under ``header_bytes``."""
    with gzip.open(path, "wb") as out:
        for i in range(chain - 1):
            record = _pax_record(f"comment{i}", "a" * (header_bytes - 64))
            out.write(_header("././@PaxHeader", size=len(record), type_=tarfile.XHDTYPE, fmt=tarfile.USTAR_FORMAT))
            out.write(record + b"\0" * (-len(record) % BLOCK))
        name = b"a" * (header_bytes - 1)
        out.write(_header("././@LongLink", size=len(name), type_=tarfile.GNUTYPE_LONGNAME))
        out.write(name + b"\0" * (-len(name) % BLOCK))
        out.write(_regular("results.csv", b"model,tokens_s\nm:1b,50\n"))
        out.write(b"\0" * BLOCK * 2)
    return path
