"""Open a benchmark archive as a local directory tree, extracting it safely when it is packed.

    with open_archive("nightly/2025-11-14.tar.gz", settings=settings) as tree:
        for rel in tree.files:          # regular files only, safe to read
            ...tree.root / rel...

Directories are used in place (nothing copied); .tar.gz/.tgz/.tar and .zip are extracted into a
fresh temporary directory under ``settings.work_dir`` that is removed when the context exits, on
success or error. Extraction is done member by member by this module (never ``extractall``):

- absolute member paths, ``..`` segments, links pointing out of the tree, device files and FIFOs,
  more than ``max_members`` members, or more than ``max_uncompressed_bytes`` actually written make
  the whole archive `UnsafeArchive` (the message names the member);
- links that stay inside the tree are not created (listed in ``skipped``), so nothing written can be
  redirected through a link;
- a member larger than ``max_file_bytes`` (by its header, or by the bytes it really inflates to) is
  not extracted and is listed in ``skipped``;
- unreadable, truncated or unknown-format archives raise `ArchiveError`.

Scratch directories are named ``archive-<host>-<pid>-<random>``: a process killed mid-extraction
(SIGKILL, out of memory) leaves one behind, and `sweep_scratch` removes those whose process is
gone (at start-up and periodically), so a crash never fills the disk.
"""

from __future__ import annotations

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
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal, Self

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
    target: str, *, settings: Settings, allow_local_paths: bool = False
) -> Iterator[ArchiveTree]:
    """Resolve ``target`` (see `bot.adapters.storage.resolve`) and yield it as a local tree.

    Raises `ArchiveNotFound`, `UnsafeArchive` or `ArchiveError`, all with one-line user messages.
    """
    location = storage.resolve(
        target, settings=settings, allow_local_paths=allow_local_paths
    )
    if location.local_path is not None and location.is_dir:
        yield _scan_dir(location.name, location.local_path, settings)
        return
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=_scratch_prefix(), dir=settings.work_dir))
    try:
        tree_dir = scratch / "tree"
        tree_dir.mkdir()
        tree = _materialise(location, scratch, tree_dir, settings)
        yield tree
    finally:
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
        if location.is_dir:
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
        opener: Callable[[], AbstractContextManager[IO[bytes]]],
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
    """`TarFile` that remembers why header reading stopped.

    ``TarFile.next`` ends iteration silently at a truncated or invalid header after the first one,
    so a cut-off archive would look complete. Only the end-of-archive marker (a zero block) is a
    proper end; anything else is reported as damage.
    """

    stop: BaseException | None = None


class _WatchedInfo(tarfile.TarInfo):
    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.HeaderError as exc:
            if isinstance(tarfile_, _WatchedTar):
                tarfile_.stop = exc
            raise


def _extract_tar(
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


def _scan_dir(name: str, root: Path, settings: Settings) -> ArchiveTree:
    """A folder used in place: list its regular files, skipping links and special files.

    Links are never followed (one pointing out of the folder could expose anything on the server);
    the same member-count, file-size and total-size limits as for archives apply.
    """
    out = _Extraction(name, root, settings)
    root_real = root.resolve()
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            out.skip(prefix or ".", f"cannot read folder ({exc.strerror or exc})")
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            shown = clean_text(rel)
            out.count(shown)
            try:
                if entry.is_symlink():
                    inside = Path(os.path.realpath(entry.path)).is_relative_to(
                        root_real
                    )
                    where = "inside" if inside else "pointing outside"
                    out.skip(
                        shown,
                        f"symbolic link {where} the folder (links are not followed)",
                    )
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), rel + "/"))
                elif not entry.is_file(follow_symlinks=False):
                    out.skip(shown, "special file (device, FIFO or socket)")
                elif shown != rel:
                    out.skip(
                        shown,
                        "file name is not valid UTF-8 or holds control characters",
                    )
                else:
                    _count_in_place(out, rel, entry.stat(follow_symlinks=False).st_size)
            except OSError as exc:
                out.skip(shown, f"cannot read ({exc.strerror or exc})")
    return ArchiveTree(
        name=name, root=root, skipped=out.skipped, files=sorted(out.files)
    )


def _count_in_place(out: _Extraction, rel: str, size: int) -> None:
    if size > out.max_file:
        out.skip(rel, _too_large(size, out.max_file))
        return
    if out.total + size > out.max_total:
        raise UnsafeArchive(
            f"Refusing '{printable(out.name)}': it holds more than "
            f"{out.max_total:,} bytes (stopped at '{printable(rel)}')."
        )
    out.total += size
    out.files.append(rel)


def _remove_tree(path: Path) -> None:
    """Delete the scratch directory; failures are logged, never raised (they must not mask errors)."""

    def report(_func: Any, target: str, exc_info: Any) -> None:
        log.warning("could not remove %s: %s", target, exc_info[1])

    shutil.rmtree(path, onerror=report)
