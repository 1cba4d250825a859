"""Open a benchmark archive as a local directory tree, extracting it safely when it is packed.

    with open_archive("nightly/2025-11-14.tar.gz", settings=settings) as tree:
        for rel in tree.files:          # regular files only, safe to read
            ...tree.root / rel...

A local folder is copied, .tar.gz/.tgz/.tar and .zip are extracted, into a fresh temporary
directory under ``settings.work_dir`` that is removed when the context exits, on success or error,
so what is read later can no longer be swapped or linked elsewhere. A folder is walked through
opened directory handles (``openat`` with ``O_NOFOLLOW`` at every step, from the storage root
down), never by path: a folder or file swapped for a symlink during the run is not followed.
Extraction is done member by member by this module (never ``extractall``):

- absolute member paths, ``..`` segments, links pointing out of the tree, device files and FIFOs,
  more than ``max_members`` members, or more than ``max_uncompressed_bytes`` actually written make
  the whole archive `UnsafeArchive` (the message names the member);
- links that stay inside the tree are not created (listed in ``skipped``), so nothing written can be
  redirected through a link;
- a member larger than ``max_file_bytes`` (by its header, or by the bytes it really inflates to) is
  not extracted and is listed in ``skipped``;
- unreadable, truncated or unknown-format archives raise `ArchiveError`, and so do compressed
  archives whose checksum does not match;
- in a folder, links, special files, files with hard links to a place outside the folder, and
  files or subfolders the OS refuses to open (vanished, unreadable) are skipped with the reason.

Scratch directories are named ``archive-<host>-<pid>-<random>``: a process killed mid-extraction
(SIGKILL, out of memory) leaves one behind, and `sweep_scratch` removes those whose process is
gone (at start-up and periodically), so a crash never fills the disk.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import logging
import lzma
import os
import re
import shutil
import socket
import stat
import tarfile
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal, Protocol, Self

from bot.adapters import storage
from bot.adapters.storage import clean_text, printable, short_reason
from bot.core.types import ArchiveTree, Skipped
from bot.errors import ArchiveError, UnsafeArchive
from bot.settings import Settings

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_Kind = Literal["zip", "r:gz", "r:", "r:*"]  # zip, or the tarfile read mode
# Present in every Python 3 tarfile but missing from typeshed; the zero block ending an archive.
_EOF_HEADER: type[Exception] = getattr(tarfile, "EOFHeaderError")  # noqa: B009
_MAX_LINK_TARGET = 4096
# GNU long names/links, pax headers and sparse maps are read whole by tarfile, outside every other
# limit: each may be this large (a name is at most 4,096 bytes on Linux; pax headers also carry
# extended attributes), at most MAX_HEADER_CHAIN of them may precede one member, and all pax
# global headers of an archive share this size too.
MAX_TAR_HEADER_BYTES = 256 * 1024
MAX_HEADER_CHAIN = 6
# Errors the archive readers raise for bad input (as opposed to our own disk failing).
_FORMAT_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    lzma.LZMAError,
    UnicodeDecodeError,  # zipfile: a name flagged UTF-8 that is not
)


@contextmanager
def open_archive(
    target: str, *, settings: Settings, allow_local_paths: bool = False, remove_later: bool = False
) -> Iterator[ArchiveTree]:
    """Resolve ``target`` (see `bot.adapters.storage.resolve`) and yield it as a local tree.

    Raises `ArchiveNotFound`, `UnsafeArchive` or `ArchiveError`, all with one-line user messages.
    ``remove_later``: see `open_location`.
    """
    location = storage.resolve(
        target, settings=settings, allow_local_paths=allow_local_paths
    )
    with open_location(location, settings=settings, remove_later=remove_later) as tree:
        yield tree


@contextmanager
def open_location(location: storage.Location, *, settings: Settings,
                  remove_later: bool = False) -> Iterator[ArchiveTree]:
    """A resolved location as a local tree in fresh scratch (see `open_archive`), removed on exit.

    ``remove_later`` (a one-shot process: ``chimera analyze``): the scratch is removed by a thread
    the interpreter waits for at exit, while the caller goes on. Deleting a hundred files can take
    ~40 ms of waiting on the disk (an ext4 mounted with ``discard`` trims every freed block), which
    the analysis and the report then overlap. A process killed before it is done leaves scratch
    named with its PID, which `sweep_scratch` removes.
    """
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=_scratch_prefix(), dir=settings.work_dir))
    try:
        tree_dir = scratch / "tree"
        tree_dir.mkdir()
        tree = _materialise(location, scratch, tree_dir, settings)
        yield tree
    finally:
        if remove_later:
            threading.Thread(target=_remove_tree, args=(scratch,), name="scratch-removal").start()
        else:
            _remove_tree(scratch)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname() or "localhost")


def _scratch_prefix() -> str:
    return f"archive-{_host()}-{os.getpid()}-"


_SCRATCH = re.compile(r"^archive-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[^-]+$")
LEGACY_SCRATCH_AGE_S = 24 * 3600  # unnamed scratch (older versions) is removed after a day


def sweep_scratch(work_dir: Path, *, is_alive: Callable[[int], bool], at_start: bool = False) -> list[Path]:
    """Remove scratch directories under ``work_dir`` left by processes of this host that are gone
    (``is_alive(pid)`` False), and unnamed ones older than a day. ``at_start``: this process has
    made none yet, so one bearing its own PID is a previous incarnation's (a container restarted
    as PID 1). Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(work_dir.iterdir())
    except OSError:  # no work dir yet: nothing to sweep
        return removed
    now = time.time()
    for path in entries:
        match = _SCRATCH.match(path.name)
        if match:
            pid = int(match["pid"])
            if match["host"] != _host() or (pid == os.getpid() and not at_start) or \
                    (pid != os.getpid() and is_alive(pid)):
                continue
        elif not path.name.startswith("archive-"):
            continue
        else:
            try:
                if now - path.stat().st_mtime < LEGACY_SCRATCH_AGE_S:
                    continue
            except OSError:
                continue
        if path.is_dir() and not path.is_symlink():
            _remove_tree(path)
            removed.append(path)
    if removed:
        log.info("removed %d scratch folder(s) left by stopped processes", len(removed))
    return removed


# --- building the tree -----------------------------------------------------------------------


def _materialise(
    location: storage.Location, scratch: Path, tree_dir: Path, settings: Settings
) -> ArchiveTree:
    name = location.name
    out = _Extraction(name, tree_dir, settings)
    try:
        if location.is_dir and location.local_path is not None:
            _copy_local_dir(location, out)
        elif location.is_dir:
            # a remote folder: copied down file by file, under the same limits
            _copy_remote_dir(location, out)
        else:
            download = scratch / "download"
            download.mkdir()
            path = storage.fetch_file(location, download, settings=settings)
            kind = _archive_kind(name, path)
            if kind == "zip":
                _extract_zip(path, out)
            else:
                _extract_tar(path, kind, out)
            if path.is_relative_to(download):
                path.unlink()  # the packed copy is no longer needed; free the space early
    except ArchiveError:
        raise
    except _FORMAT_ERRORS as exc:
        if _is_checksum_error(exc):
            raise ArchiveError(
                f"'{printable(name)}' is damaged: a checksum does not match its contents "
                f"({short_reason(exc)}); refusing to read it. Re-create or re-upload the archive."
            ) from exc
        raise ArchiveError(
            f"'{printable(name)}' is not a readable .tar.gz/.zip archive: {short_reason(exc)}"
        ) from exc
    except OSError as exc:
        # our own disk (full, permissions): not the user's fault, say so briefly
        log.warning("extracting %s failed", printable(name), exc_info=True)
        raise ArchiveError(
            f"Could not extract '{printable(name)}': {exc.strerror or exc}"
        ) from exc
    return ArchiveTree(
        name=name, root=tree_dir, skipped=out.skipped, files=sorted(out.files)
    )


def _is_checksum_error(exc: BaseException) -> bool:
    """gzip's "CRC check failed", zipfile's "Bad CRC-32", bz2's "Invalid data stream"."""
    text = str(exc).lower()
    return "crc" in text or "checksum" in text or "incorrect length" in text


def _archive_kind(name: str, path: Path) -> _Kind:
    """'zip' or a tarfile read mode, from the name's suffix, else from the first bytes."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar.gz", ".tgz")):
        return "r:gz"
    if lower.endswith(".tar"):
        return "r:"
    if ".tar." in lower:
        return "r:*"
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "r:gz"
    if head[257:262] == b"ustar":
        return "r:"
    raise ArchiveError(
        f"'{printable(name)}' is not a readable .tar.gz/.zip archive: unknown format"
    )


class _Source(Protocol):
    """What a member is copied from: a binary stream (tar/zip member, remote or local file)."""

    def read(self, size: int = ..., /) -> bytes: ...


class _SkipMember(Exception):
    """Raised by a member opener when the member cannot be read but the archive is fine."""


class _Extraction:
    """Writes members under ``dest`` while enforcing every limit; collects skipped members."""

    def __init__(self, name: str, dest: Path, settings: Settings) -> None:
        self.name = name
        self.dest = dest
        self.max_members = settings.max_members
        self.max_total = settings.max_uncompressed_bytes
        self.max_file = settings.max_file_bytes
        self.members = 0
        self.total = 0
        self.files: list[str] = []
        self.skipped: list[Skipped] = []

    def unsafe(self, member: str, why: str) -> UnsafeArchive:
        return UnsafeArchive(
            f"Refusing '{printable(self.name)}': member '{printable(member)}' {why}."
        )

    def count(self, raw: str) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise self.unsafe(
                raw, f"is beyond the limit of {self.max_members:,} members"
            )

    def member_path(self, raw: str) -> str:
        """The member's safe relative path ('' for the archive root itself) or `UnsafeArchive`."""
        if "\x00" in raw:
            raise self.unsafe(raw, "has a NUL byte in its name")
        # Windows tools write '\' as separator; treating it as one also catches '..\..\x'.
        name = clean_text(raw).replace("\\", "/")
        if name.startswith("/") or (
            len(name) > 1 and name[1] == ":" and name[0].isalpha()
        ):
            raise self.unsafe(raw, "has an absolute path")
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise self.unsafe(raw, "leaves the archive ('..' in its path)")
        return "/".join(parts)

    def link(self, rel: str, target: str, *, hard: bool) -> None:
        """Links are never created: out of the tree is hostile, inside is skipped with a reason."""
        target = clean_text(target).replace("\\", "/")
        # A symlink is relative to its own folder; a tar hard link names a path from the root.
        base = [] if hard else rel.split("/")[:-1]
        if _escapes(base, target):
            raise self.unsafe(
                rel,
                f"is a link pointing outside the archive (to '{printable(target)}')",
            )
        kind = "hard link" if hard else "symbolic link"
        self.skip(rel, f"{kind} to '{printable(target)}' (links are not extracted)")

    def skip(self, rel: str, reason: str) -> None:
        self.skipped.append(Skipped(path=rel, reason=reason))

    def add_dir(self, rel: str) -> None:
        if not rel:
            return
        try:
            (self.dest / rel).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._unusable(rel, exc)

    def add_file(
        self,
        rel: str,
        declared: int | None,
        opener: Callable[[], AbstractContextManager[_Source]],
    ) -> None:
        if not rel:
            return
        if declared is not None and declared > self.max_file:
            self.skip(rel, _too_large(declared, self.max_file))
            return
        target = self.dest / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # 'x' never replaces or writes through anything already there (duplicates, conflicts).
            out = open(target, "xb")  # noqa: SIM115 - closed by the `with` below
        except OSError as exc:
            self._unusable(rel, exc)
            return
        written = 0
        try:
            with out, opener() as src:
                # Count what really comes out of the decompressor: headers can lie.
                while chunk := src.read(min(_CHUNK, self.max_file + 1 - written)):
                    written += len(chunk)
                    if self.total + len(chunk) > self.max_total:
                        raise self.unsafe(
                            rel,
                            f"takes the archive past {self.max_total:,} uncompressed bytes",
                        )
                    self.total += len(chunk)
                    if written > self.max_file:
                        break
                    out.write(chunk)
        except _SkipMember as exc:
            target.unlink(missing_ok=True)
            self.skip(rel, str(exc))
            return
        if written > self.max_file:
            target.unlink(missing_ok=True)
            self.skip(
                rel,
                f"too large (more than {self.max_file:,} bytes once decompressed > limit "
                f"{self.max_file:,}; its header said {declared:,})"
                if declared is not None
                else f"too large (more than {self.max_file:,} bytes > limit {self.max_file:,})",
            )
            return
        self.files.append(rel)

    def _unusable(self, rel: str, exc: OSError) -> None:
        reasons = {
            errno.EEXIST: "duplicate member or name clash with another member",
            errno.ENOTDIR: "name clash with a file of the same name",
            errno.EISDIR: "name clash with a folder of the same name",
            errno.ENAMETOOLONG: "name too long for this system",
            errno.EILSEQ: "name not usable on this system",
            errno.EINVAL: "name not usable on this system",
        }
        if exc.errno not in reasons:
            raise exc
        self.skip(rel, reasons[exc.errno])


def _escapes(base: list[str], target: str) -> bool:
    if target.startswith("/") or (
        len(target) > 1 and target[1] == ":" and target[0].isalpha()
    ):
        return True
    parts = list(base)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return True
            parts.pop()
        else:
            parts.append(part)
    return False


def _too_large(size: int, limit: int) -> str:
    return f"too large ({size:,} bytes > limit {limit:,})"


# --- formats -----------------------------------------------------------------------------------


class _WatchedTar(tarfile.TarFile):
    """`TarFile` that remembers why header reading stopped, and counts the extended headers in
    front of each member (see `_WatchedInfo`).

    ``TarFile.next`` ends iteration silently at a truncated or invalid header after the first one,
    so a cut-off archive would look complete. Only the end-of-archive marker (a zero block) is a
    proper end; anything else is reported as damage.
    """

    stop: BaseException | None = None
    chain: int = 0  # extended headers read so far in front of the member being read
    global_bytes: int = 0  # pax global headers, which accumulate over the whole archive

    def next(self) -> tarfile.TarInfo | None:
        self.chain = 0
        return super().next()


class _HeaderRefused(Exception):
    """An extended header (GNU long name/link, pax, sparse map) beyond `MAX_TAR_HEADER_BYTES`."""

    def __init__(self, member: str, why: str) -> None:
        super().__init__(why)
        self.member = member
        self.why = why


_HEADER_KINDS = {
    tarfile.GNUTYPE_LONGNAME: "GNU long-name header",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link header",
    tarfile.XHDTYPE: "pax extended header",
    tarfile.SOLARIS_XHDTYPE: "pax extended header",
    tarfile.XGLTYPE: "pax global header",
}


class _WatchedInfo(tarfile.TarInfo):
    """`TarInfo` that refuses oversized extended headers *before* tarfile reads them.

    tarfile reads a GNU long name or a pax header whole, whatever size its header block declares
    (a 612 KB .tar.gz declaring a 6 GB name cost 6.9 GB), and follows old-GNU sparse extension
    blocks and sparse 1.0 maps for as long as they go. Here every such header is checked against
    `MAX_TAR_HEADER_BYTES` from its declared size, at most `MAX_HEADER_CHAIN` may precede one
    member, global headers share one budget, and sparse maps are read through a byte budget.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.HeaderError as exc:
            if isinstance(tarfile_, _WatchedTar):
                tarfile_.stop = exc
            raise

    def _proc_member(self, tarfile_: tarfile.TarFile) -> Any:
        kind = _HEADER_KINDS.get(self.type)
        if kind is not None and isinstance(tarfile_, _WatchedTar):
            if self.size > MAX_TAR_HEADER_BYTES:
                raise _HeaderRefused(self.name, f"has a {kind} of {self.size:,} bytes, beyond the "
                                     f"{MAX_TAR_HEADER_BYTES:,}-byte limit for names and extended headers")
            tarfile_.chain += 1
            if tarfile_.chain > MAX_HEADER_CHAIN:
                raise _HeaderRefused(self.name, f"is preceded by more than {MAX_HEADER_CHAIN} extended headers")
            if self.type == tarfile.XGLTYPE:
                tarfile_.global_bytes += self.size
                if tarfile_.global_bytes > MAX_TAR_HEADER_BYTES:
                    raise _HeaderRefused(self.name, f"brings the pax global headers past "
                                         f"{MAX_TAR_HEADER_BYTES:,} bytes")
        return super()._proc_member(tarfile_)  # type: ignore[misc]

    def _proc_sparse(self, tarfile_: tarfile.TarFile) -> Any:
        return super()._proc_sparse(_Budgeted(tarfile_, self.name))  # type: ignore[misc]

    def _proc_gnusparse_10(self, next: tarfile.TarInfo, pax_headers: dict[str, str],
                           tarfile_: tarfile.TarFile) -> Any:
        return super()._proc_gnusparse_10(next, pax_headers, _Budgeted(tarfile_, next.name))  # type: ignore[misc]


class _Budgeted:
    """The `TarFile` as a sparse-map reader sees it: its ``fileobj`` reads at most
    `MAX_TAR_HEADER_BYTES` in all; other attributes (``offset``, …) are the real tar's."""

    def __init__(self, tar: tarfile.TarFile, member: str) -> None:
        object.__setattr__(self, "_tar", tar)
        object.__setattr__(self, "fileobj", _BudgetedReader(tar.fileobj, member))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tar, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._tar, name, value)


class _BudgetedReader:
    def __init__(self, inner: Any, member: str) -> None:
        self._inner = inner
        self._member = member
        self._left = MAX_TAR_HEADER_BYTES

    def read(self, size: int) -> bytes:
        if size > self._left:
            raise _HeaderRefused(self._member, f"has a sparse map beyond the {MAX_TAR_HEADER_BYTES:,}-byte "
                                 "limit for names and extended headers")
        self._left -= size
        return bytes(self._inner.read(size))

    def tell(self) -> int:
        return int(self._inner.tell())


def _extract_tar(
    path: Path, mode: Literal["r:gz", "r:", "r:*"], out: _Extraction
) -> None:
    try:
        _extract_tar_members(path, mode, out)
    except _HeaderRefused as refused:
        raise out.unsafe(refused.member, refused.why) from None


def _extract_tar_members(
    path: Path, mode: Literal["r:gz", "r:", "r:*"], out: _Extraction
) -> None:
    with _WatchedTar.open(path, mode, tarinfo=_WatchedInfo) as tar:
        # Iterating reads headers one at a time, so a huge member count stops at the limit
        # instead of being listed in full first.
        for member in tar:
            out.count(member.name)
            rel = out.member_path(member.name)
            if member.isdir():
                out.add_dir(rel)
            elif member.issym() or member.islnk():
                out.link(rel or member.name, member.linkname, hard=member.islnk())
            elif member.ischr() or member.isblk():
                raise out.unsafe(member.name, "is a device file")
            elif member.isfifo():
                raise out.unsafe(member.name, "is a FIFO (named pipe)")
            elif member.isreg():
                out.add_file(rel, member.size, partial(_tar_reader, tar, member))
            else:
                out.skip(
                    rel or member.name, f"unsupported tar entry type {member.type!r}"
                )
        if not isinstance(tar.stop, _EOF_HEADER):
            detail = "unexpected end of data" if tar.stop is None else str(tar.stop)
            raise tarfile.ReadError(
                f"truncated or damaged after {out.members} members ({detail})"
            )
        _read_to_the_end(tar.fileobj, out)


def _read_to_the_end(stream: Any, out: _Extraction) -> None:
    """Decompress what follows the end-of-archive marker, so the compressed stream's own check runs.

    tarfile stops at the end-of-archive blocks and never reaches the gzip trailer, so its CRC-32
    (and bz2/xz's checks) went unverified: corrupted bytes were extracted and reported on. Reading
    on to the end raises `gzip.BadGzipFile` / `OSError` / `lzma.LZMAError` for a bad checksum or a
    cut-off stream; the padding read counts against the uncompressed limit.
    """
    if not isinstance(stream, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)):
        return  # an uncompressed .tar carries no checksum beyond its header blocks
    while chunk := stream.read(_CHUNK):
        out.total += len(chunk)
        if out.total > out.max_total:
            raise out.unsafe("(end of archive)", f"is followed by padding past {out.max_total:,} uncompressed bytes")


def _tar_reader(
    tar: tarfile.TarFile, member: tarfile.TarInfo
) -> AbstractContextManager[IO[bytes]]:
    reader = tar.extractfile(member)
    if reader is None:  # only for non-regular members, which never get here
        raise _SkipMember("not a regular file")
    return reader


def _extract_zip(path: Path, out: _Extraction) -> None:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > out.max_members:
            raise out.unsafe(
                infos[out.max_members].filename,
                f"is beyond the limit of {out.max_members:,} members",
            )
        for info in infos:
            out.count(info.filename)
            rel = out.member_path(info.filename)
            mode = info.external_attr >> 16
            if info.is_dir() or stat.S_ISDIR(mode):
                out.add_dir(rel)
            elif stat.S_ISLNK(mode):
                try:
                    with _zip_reader(archive, info) as fh:
                        target = fh.read(_MAX_LINK_TARGET).decode("utf-8", "replace")
                except _SkipMember as exc:
                    out.skip(rel or info.filename, f"symbolic link, {exc}")
                    continue
                out.link(rel or info.filename, target, hard=False)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                raise out.unsafe(info.filename, "is a device file")
            elif stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise out.unsafe(info.filename, "is a FIFO or socket")
            else:
                out.add_file(rel, info.file_size, partial(_zip_reader, archive, info))


def _zip_reader(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> AbstractContextManager[IO[bytes]]:
    if info.flag_bits & 0x1:
        raise _SkipMember("encrypted (no password)")
    try:
        return archive.open(info)
    except NotImplementedError as exc:
        # e.g. deflate64, which zipfile cannot decompress
        raise _SkipMember(f"unsupported compression ({short_reason(exc)})") from exc


def _copy_remote_dir(location: storage.Location, out: _Extraction) -> None:
    for remote in storage.walk_remote_dir(location):
        out.count(remote.rel)
        rel = out.member_path(remote.rel)
        try:
            out.add_file(rel, remote.size, remote.open)
        except ArchiveError:
            raise
        except Exception as exc:  # any fsspec backend's read failure, whatever its type
            log.warning(
                "fetching %s from %s failed",
                rel,
                printable(location.name),
                exc_info=True,
            )
            raise ArchiveError(
                f"Could not fetch '{printable(location.name)}' from storage."
            ) from exc


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: an entry swapped for a FIFO after it was listed must not block the open.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
_MAX_DEPTH = 64


def _copy_local_dir(location: storage.Location, out: _Extraction) -> None:
    """Copy a local folder into ``out.dest`` through opened directory handles.

    The folder is opened from its storage root down, one component at a time with ``O_NOFOLLOW``
    (a component swapped for a symlink since `storage.resolve` is refused); inside it every
    subfolder and file is opened relative to its parent's handle, again without following links.
    What ingest reads afterwards is this private copy, so nothing can be swapped under it.
    A file whose hard-link count says it has names outside the folder is not read.
    """
    assert location.local_path is not None
    root_fd = _open_folder(location)
    hard_links: dict[tuple[int, int], list[str]] = {}
    link_counts: dict[tuple[int, int], int] = {}
    try:
        _walk(root_fd, location.local_path, out, hard_links, link_counts)
        for key, names in sorted(hard_links.items(), key=lambda item: item[1][0]):
            if len(names) < link_counts[key]:
                for rel in names:
                    out.skip(rel, f"hard link to a file outside the folder ({link_counts[key]} names, "
                                  f"{len(names)} inside); not read")
                continue
            for rel in names:  # every name of the file is inside the folder: read it
                _copy_again(root_fd, rel, key, out)
    finally:
        os.close(root_fd)


def _open_folder(location: storage.Location) -> int:
    assert location.local_path is not None
    name = printable(location.name)
    try:
        if location.root is None:  # a local path given on the command line: the user's own
            return os.open(location.local_path, _DIR_FLAGS)
        fd = os.open(location.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in location.local_path.relative_to(location.root).parts:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            finally:
                os.close(fd)
            fd = child
        return fd
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ArchiveError(f"'{name}' changed into a link or a file while being opened; refusing it.") from exc
        if exc.errno == errno.ENOENT:
            raise ArchiveError(f"'{name}' no longer exists in the archive storage.") from exc
        raise ArchiveError(f"Cannot read '{name}': {exc.strerror or exc}") from exc


def _walk(root_fd: int, folder: Path, out: _Extraction, hard_links: dict[tuple[int, int], list[str]],
          link_counts: dict[tuple[int, int], int]) -> None:
    """Depth-first over the folder, one open handle per level (closed on the way back up)."""
    folder_real = Path(os.path.realpath(folder))
    stack: list[tuple[int, str, Iterator[os.DirEntry[str]]]] = []
    try:
        stack.append((root_fd, "", _entries(root_fd, "", out)))
        while stack:
            fd, prefix, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                if fd != root_fd:
                    os.close(fd)
                continue
            rel = f"{prefix}{entry.name}"
            shown = clean_text(rel)
            out.count(shown)
            try:
                if entry.is_symlink():
                    # only to word the reason: the link itself is never followed to read anything
                    inside = Path(os.path.realpath(folder / rel)).is_relative_to(folder_real)
                    where = "inside" if inside else "pointing outside"
                    out.skip(shown, f"symbolic link {where} the folder (links are not followed)")
                elif entry.is_dir(follow_symlinks=False):
                    if len(stack) >= _MAX_DEPTH:
                        out.skip(shown, f"folder nested more than {_MAX_DEPTH} levels deep")
                        continue
                    child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                    stack.append((child, rel + "/", _entries(child, rel + "/", out)))
                elif not entry.is_file(follow_symlinks=False):
                    out.skip(shown, "special file (device, FIFO or socket)")
                elif shown != rel:
                    out.skip(shown, "file name is not valid UTF-8 or holds control characters")
                else:
                    _copy_entry(fd, entry.name, rel, out, hard_links, link_counts)
            except OSError as exc:
                out.skip(shown, _os_reason(exc))
    finally:
        for fd, _prefix, _entries_left in stack:
            if fd != root_fd:
                os.close(fd)


def _entries(fd: int, prefix: str, out: _Extraction) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(fd) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        out.skip(prefix.rstrip("/") or ".", f"cannot read folder ({exc.strerror or exc})")
        return iter(())
    return iter(entries)


def _copy_entry(dir_fd: int, name: str, rel: str, out: _Extraction,
                hard_links: dict[tuple[int, int], list[str]], link_counts: dict[tuple[int, int], int]) -> None:
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    with _OwnedFd(fd) as owned:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or device after it was listed
            out.skip(rel, "special file (device, FIFO or socket)")
            return
        if info.st_nlink > 1:  # decided once the whole folder is known
            key = (info.st_dev, info.st_ino)
            hard_links.setdefault(key, []).append(rel)
            link_counts[key] = info.st_nlink
            return
        _copy_open_file(owned, rel, info.st_size, out)


def _copy_again(root_fd: int, rel: str, key: tuple[int, int], out: _Extraction) -> None:
    """Re-open ``rel`` from the root without following links and copy it if it is still that file."""
    parts = rel.split("/")
    fds: list[int] = []
    try:
        fd = root_fd
        for part in parts[:-1]:
            fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            fds.append(fd)
        with _OwnedFd(os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)) as owned:
            info = os.fstat(owned.fd)
            if (info.st_dev, info.st_ino) != key or not stat.S_ISREG(info.st_mode):
                out.skip(rel, "changed while the folder was being read; not read")
                return
            _copy_open_file(owned, rel, info.st_size, out)
    except OSError as exc:
        out.skip(rel, _os_reason(exc))
    finally:
        for fd in fds:
            os.close(fd)


def _copy_open_file(owned: _OwnedFd, rel: str, size: int, out: _Extraction) -> None:
    if size <= out.max_file and out.total + size > out.max_total:
        raise UnsafeArchive(
            f"Refusing '{printable(out.name)}': it holds more than "
            f"{out.max_total:,} bytes (stopped at '{printable(rel)}')."
        )
    out.add_file(rel, size, owned.reader)


class _OwnedFd:
    """An open file descriptor closed on exit unless `reader` handed it to a file object."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._handed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._handed:
            os.close(self.fd)

    def reader(self) -> AbstractContextManager[_Source]:
        self._handed = True
        return _SourceReader(os.fdopen(self.fd, "rb", buffering=0))


class _SourceReader:
    """A source file whose read errors (EIO, a vanished network file) skip it, with the reason."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def read(self, size: int = -1) -> bytes:
        try:
            return self._raw.read(size) or b""
        except OSError as exc:
            raise _SkipMember(_os_reason(exc)) from exc


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "changed into a symbolic link while the folder was being read (links are not followed)"
    if exc.errno == errno.ENOENT:
        return "vanished while the folder was being read"
    return f"cannot read ({exc.strerror or exc})"


def _remove_tree(path: Path) -> None:
    """Delete the scratch directory; failures are logged, never raised (they must not mask errors)."""

    def report(_func: Any, target: str, exc_info: Any) -> None:
        log.warning("could not remove %s: %s", target, exc_info[1])

    shutil.rmtree(path, onerror=report)
