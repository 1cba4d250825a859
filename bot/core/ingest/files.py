"""Reading one file of an archive: its bytes, its text, the adapter that reads it, what it holds.

`read_file` is a pure function of the file (and, for adapters that need one, a sibling file): it
returns a `FileRead` holding the rows and this file's own inventory entries, and changes nothing
else. (One shortcut: a byte-identical copy of a file read before it is not parsed, only its digest
is given; the archive's reading lists it as a duplicate, see `Archive.copy_of_earlier`.) The
archive's reading (`bot.core.ingest.ingest_tree`) places the reads in file order, so files can be
read in any order, or in other processes (`bot.core.ingest.parallel`), and the result is the same.
Paths are plain ``/``-separated strings relative to the archive's root: no
`pathlib` object per file.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import posixpath
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.ingest.rankings import find_rankings
from bot.core.ingest.readers import NotATable
from bot.core.ingest.rows import PackedRows, Rows
from bot.core.ingest.tools import SourceFile, ToolRead, choose
from bot.core.limits import IngestLimits, TooManyMeasurements, measurement_allowance
from bot.core.types import Inventory, RankingClaim, Skipped

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".md": "md", ".markdown": "md", ".log": "text", ".txt": "text", ".out": "text"}

log = logging.getLogger(__name__)


def list_files(root: str) -> list[str]:
    """Regular files under ``root`` (root-relative), never following links out of the tree, in the
    order `pathlib` sorts paths (part by part). Each folder is listed once (`os.scandir`: an entry's
    type comes with the listing, no `stat` per file); a folder that cannot be listed is passed over,
    as `os.walk` does."""
    found: list[str] = []
    folders = [("", root)]
    while folders:
        prefix, folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            try:  # links (to files or folders) are neither
                if entry.is_dir(follow_symlinks=False):
                    folders.append((f"{prefix}{entry.name}/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    found.append(f"{prefix}{entry.name}")
            except OSError:  # vanished while listed
                continue
    return sorted(found, key=lambda rel: rel.split("/"))


def suffix(rel: str) -> str:
    """The file name's extension as `pathlib` gives it ('' for '.hidden' and 'name.')."""
    name = rel.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def stem(rel: str) -> str:
    """The file name without its extension, as `pathlib` gives it."""
    name = rel.rsplit("/", 1)[-1]
    ext = suffix(name)
    return name[: -len(ext)] if ext else name


def parent(rel: str) -> str:
    """The folder of a root-relative path, '.' for the root (as ``str(Path(rel).parent)``)."""
    return rel.rsplit("/", 1)[0] if "/" in rel else "."


def file_format(rel: str) -> str | None:
    return FORMATS.get(suffix(rel).lower())


# what `decode` reads as UTF-16 (and `utf8_of`, `_skip_text` as not UTF-8): one definition for the three
_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes) -> tuple[str | None, str]:
    """Text and '' or None and the reason. UTF-8 (with or without BOM) and BOM-marked UTF-16."""
    if data.startswith(_UTF16_MARKS):
        try:
            return data.decode("utf-16"), ""
        except UnicodeDecodeError:
            return None, "undecodable bytes (UTF-16 byte-order mark but invalid UTF-16)"
    try:
        # ('utf-8' where there is no byte-order mark: the same text and error, without the Python
        # wrapper 'utf-8-sig' is, 0.6 us a file)
        return data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"undecodable bytes (not UTF-8: invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"


def utf8_of(data: bytes) -> bytes | None:
    """The UTF-8 encoding of ``decode(data)``'s text, when `decode` read ``data`` as UTF-8: ``data``
    itself, less its byte-order mark (a strict UTF-8 decoding gives back its bytes when encoded: no
    surrogate, no overlong form passes it); None when it was read as UTF-16. Only for ``data`` that
    decoded."""
    if data.startswith(_UTF16_MARKS):
        return None
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data


class Archive:
    """Read access to the archive's files for adapters that need a sibling (decoded text). The last
    few texts are kept (siblings are asked for by the files next to them), never the whole archive.
    It also remembers the content digest of each file read through it (`copy_of_earlier`)."""

    KEEP = 16

    def __init__(self, root: str, paths: Sequence[str], max_file_bytes: int,
                 limits: IngestLimits | None = None) -> None:
        self.root = root
        self._prefix = os.path.join(root, "") if os.path is posixpath else None  # (`full`)
        self.paths = paths
        self._place = {rel: index for index, rel in enumerate(paths)}  # a file's place in the archive's order
        self.max_file_bytes = max_file_bytes
        self.limits = limits or IngestLimits()
        self._texts: OrderedDict[str, str | None] = OrderedDict()
        self._first_with: dict[str, int] = {}  # digest -> the earliest place read with it

    def full(self, rel: str) -> str:
        """``os.path.join(root, rel)``: on POSIX the root and its separator, joined once, then ``rel``
        (the join took 1 us a file, this 0.15)."""
        if self._prefix is None or rel.startswith("/"):
            return os.path.join(self.root, rel)
        return self._prefix + rel

    def copy_of_earlier(self, rel: str, digest: str) -> bool:
        """Whether a file placed before ``rel`` (and read through this archive) has the same content.
        The archive's reading keeps the first of byte-identical files and lists the others as its
        duplicates without looking at what they hold (`bot.core.ingest.ingest_tree`): such a copy
        need not be parsed. (Files are read in order, here or in a worker's share, so the earlier
        copy is read first; read out of order, both are parsed, as before.)"""
        place = self._place.get(rel)
        if place is None:
            return False
        first = self._first_with.setdefault(digest, place)
        if place < first:
            self._first_with[digest] = place
        return first < place

    def text(self, rel: str) -> str | None:
        if rel not in self._place:
            return None
        if rel in self._texts:
            self._texts.move_to_end(rel)
        else:
            self._texts[rel] = self._read(rel)
            if len(self._texts) > self.KEEP:
                self._texts.popitem(last=False)
        return self._texts[rel]

    def _read(self, rel: str) -> str | None:
        path = self.full(rel)
        try:
            if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > self.max_file_bytes:
                return None
            with open(path, "rb") as handle:
                text, _reason = decode(handle.read())
        except OSError:
            return None
        return text


@dataclass
class FileRead:
    """What reading one file gave: its content's digest ('' when it was not read), its own inventory
    entries, its rows (None when it holds none) and the rankings its prose states."""

    rel: str
    fmt: str | None
    digest: str = ""
    inventory: Inventory = field(default_factory=Inventory)
    rows: PackedRows | None = None  # None when the file holds nothing to read
    claims: list[dict[str, Any]] = field(default_factory=list)
    rankings: list[RankingClaim] = field(default_factory=list)


def read_file(rel: str, archive: Archive, read_before: int | None = None) -> FileRead:
    """One file read, skipped (the reason in its inventory) or found empty; never raises for a bad file.

    ``read_before``: the measurements the job holds before this file, when known (files read here,
    in order): the file may yield what the budget has left, and is not read once it is spent. When
    unknown (files read in worker processes), a whole budget."""
    fmt = file_format(rel)
    out = FileRead(rel, fmt)
    limits = archive.limits
    data = b""
    if fmt is None:
        reason = _unsupported(rel)
    else:
        try:
            data, reason = _file_bytes(archive.full(rel), archive.max_file_bytes,
                                       limits.spent(read_before) if read_before is not None
                                       and not limits.allowance(read_before) else "")
        except OSError as exc:  # vanished, unreadable: a skip with its reason, not a crash
            reason = f"cannot read ({exc.strerror or type(exc).__name__})"
    if not reason:  # rows and cells counted in the bytes: a file over the limits is never parsed
        reason = limits.file_skip(data, fmt)
    if reason:
        out.inventory.skipped.append(Skipped(rel, reason))
        return out
    out.digest = hashlib.sha256(data).hexdigest()
    if archive.copy_of_earlier(rel, out.digest):
        return out  # listed as a duplicate of the earlier file: nothing of its own is read
    text, reason = decode(data)
    if text is not None:
        reason = _skip_text(text, data)
    if reason or text is None or fmt is None:
        out.inventory.skipped.append(Skipped(rel, reason))
        return out
    # a report's words are looked for in its folded bytes (`SourceFile.folded`): lowered from the
    # file's own bytes, not from the text encoded again (the real archive's 29 reports: 0.22 ms -> 0.11)
    file = SourceFile(rel=rel, fmt=fmt, text=text, paths=archive.paths, sibling=archive.text,
                      utf8=utf8_of(data) if fmt in ("md", "text") else None)
    del data  # (a large file's bytes are not held while it is parsed)
    if fmt in ("md", "text"):
        out.rankings = find_rankings(text, rel, folded=file.folded, lines=file.text_lines)
    read_before = read_before or 0
    with measurement_allowance(limits.allowance(read_before), read_before=read_before,
                               budget=limits.max_job_measurements):
        read = _file_rows(file, out.inventory)
    if read is not None:
        out.rows, out.claims = _packed(read.measurements), read.claims
    return out


def _packed(rows: Rows) -> PackedRows:
    """``rows.packed()``. A file of claims alone (most reports) has no rows: they are packed once
    (fifteen empty arrays, 35 µs a file) and shared, never written (`ColumnStore.add` reads them)."""
    return rows.packed() if rows else _NO_ROWS


_NO_ROWS = Rows().packed()


def not_read(rel: str, archive: Archive, read_before: int) -> FileRead:
    """A file left unread because the job's budget is spent (or skipped for its own reason, found
    without reading it)."""
    out = FileRead(rel, file_format(rel))
    try:
        reason = _skip_before_reading(archive.full(rel), rel, out.fmt, archive.max_file_bytes)
    except OSError as exc:
        reason = f"cannot read ({exc.strerror or type(exc).__name__})"
    out.inventory.skipped.append(Skipped(rel, reason or archive.limits.spent(read_before)))
    return out


def _file_bytes(path: str, max_file_bytes: int, spent: str) -> tuple[bytes, str]:
    """The file's bytes and '', or b'' and why it is skipped unread: empty, too large, or ``spent``
    (the job's budget, when the file is not empty or too large). One ``open``, its size from the
    open file (no ``stat`` by path as well), read unbuffered: a buffered file object costs more than
    the read of a small file (101 files: 0.7 ms this way was 0.3)."""
    # non-blocking: a named pipe (not a regular file, so never listed by `list_files`, but a caller's
    # list may name one) opens at once and reads as empty, as its size said before, never waiting
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:  # its size by path, so an unreadable file empty, too large or over the
        # budget is skipped for that reason (as `not_read` and the pool say), and the rest cannot be read
        reason = _size_skip(os.path.getsize(path), max_file_bytes) or spent
        if reason:
            return b"", reason
        raise
    try:
        size = os.fstat(fd).st_size
        reason = _size_skip(size, max_file_bytes) or spent
        if reason:
            return b"", reason
        # one byte more than its size is asked for: a read that stops at the size is at the end (a
        # regular file's read is short only there), with no second read to find it (one system call
        # of five a file: the real archive's 101 files read in 0.52 ms, not 0.56). A read short of
        # the size (a file system that reads in parts, a file that shrank) or past it (one that
        # grew) is read on to its end, as it was
        parts = [os.read(fd, size + 1)]
        if len(parts[0]) != size:
            while part := os.read(fd, 1 << 16):
                parts.append(part)
    finally:
        os.close(fd)
    return parts[0] if len(parts) == 1 else b"".join(parts), ""


def _unsupported(rel: str) -> str:
    return f"unsupported format ({suffix(rel) or 'no extension'})"


def _size_skip(size: int, max_file_bytes: int) -> str:
    if size == 0:
        return "empty (0 bytes)"
    if size > max_file_bytes:
        return f"too large ({size} bytes > limit {max_file_bytes})"
    return ""


def _skip_before_reading(path: str, rel: str, fmt: str | None, max_file_bytes: int) -> str:
    """Why the file is skipped without reading it ('' when it is read)."""
    if fmt is None:
        return _unsupported(rel)
    return _size_skip(os.path.getsize(path), max_file_bytes)


def _skip_text(text: str, data: bytes | None = None) -> str:
    """Why a decoded text is skipped ('' when it is parsed); ``data``: the bytes `decode` read it from,
    when at hand. A NUL is looked for in UTF-8 bytes, 5x faster than in a text beyond ASCII (0x00 is
    in no other character's bytes, nor in the byte-order mark)."""
    if ("\x00" in text) if data is None or data.startswith(_UTF16_MARKS) else (b"\x00" in data):
        return "undecodable bytes (NUL characters: mis-encoded text, e.g. UTF-16 saved as UTF-8)"
    if not text or text.isspace():  # (what `not text.strip()` says, without copying the text)
        return "empty (whitespace only)"
    return ""


def _file_rows(file: SourceFile, inventory: Inventory) -> ToolRead | None:
    """The rows of one file, or None when it holds none (listed as skipped)."""
    rel = file.rel
    read = _read_or_skip(file, inventory)
    if read is None:
        return None
    for warning in read.warnings:
        inventory.warnings.append(Skipped(rel, warning))
    if read.skip and not read.measurements and not read.claims:
        inventory.skipped.append(Skipped(rel, read.skip))
        return None
    if not read.measurements and not read.claims:
        inventory.skipped.append(Skipped(rel, "not a table: no recognised metric columns"))
        return None
    if read.model_origin:
        inventory.model_origin[rel] = read.model_origin
    inventory.parsed[rel] = "measurements" if read.measurements else "claims"
    if not read.measurements:
        inventory.claims_only.append(rel)
    return read


def _read_or_skip(file: SourceFile, inventory: Inventory) -> ToolRead | None:
    """The file read by its tool's adapter, or None with the reason listed as skipped: one odd file
    never sinks the archive."""
    text, rel = file.text, file.rel
    try:
        adapter, note = choose(file)
        if adapter is None:
            inventory.skipped.append(Skipped(rel, f"text file: not the output of a known benchmark tool"
                                                  f"{_first_line_hint(text)}"))
            return None
        if note:
            inventory.warnings.append(Skipped(rel, note))
        inventory.tools[rel] = adapter.name
        return adapter.read(file)
    except NotATable as exc:
        reason = f"not a table: {exc}{_first_line_hint(text)}"
    except TooManyMeasurements as exc:  # left out of the job, as a file that does not fit is (no tool listed)
        inventory.tools.pop(rel, None)
        reason = str(exc)
    except RecursionError:
        reason = "not a table: nesting too deep"
    except Exception as exc:
        log.exception("reading %s failed", rel)
        reason = f"could not be read (internal error: {type(exc).__name__}; details in the log)"
    inventory.skipped.append(Skipped(rel, reason))
    return None


def _first_line_hint(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = re.sub(r"\s+", " ", first)[:80]
    return f" (starts with: {first!r})" if first else ""


def merge(inventory: Inventory, part: Inventory) -> None:
    """Add one file's inventory entries to the archive's (in file order)."""
    inventory.skipped.extend(part.skipped)
    inventory.duplicates.extend(part.duplicates)
    inventory.parsed.update(part.parsed)
    inventory.claims_only.extend(part.claims_only)
    inventory.warnings.extend(part.warnings)
    inventory.model_origin.update(part.model_origin)
    inventory.duplicate_reasons.update(part.duplicate_reasons)
    inventory.tools.update(part.tools)
