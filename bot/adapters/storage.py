"""Where archives live: resolve an untrusted archive *name* inside the configured storage roots.

Roots (`settings.storage_roots`) are local folders or fsspec URLs (``s3://bucket/prefix``,
``memory://x``, ``file:///srv/archives``); other backends work once their fsspec extras are installed.
Names come from Slack, so they are validated before they touch any filesystem: a name is a relative,
``/``-separated path that can only go *down* from a root. This module is the edge for storage: fsspec
and OS errors are converted here into `bot.errors` types whose messages never reveal server paths.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.core.redact import redact_secrets
from bot.core.types import ArchiveRef
from bot.errors import ArchiveError, ArchiveNotFound
from bot.settings import Settings

if TYPE_CHECKING:  # fsspec is imported where a storage root is opened: a local path needs none of it
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

ARCHIVE_SUFFIXES: tuple[str, ...] = (".tar.gz", ".tgz", ".tar", ".zip")
_EXAMPLE = "`/chimera analyze nightly/2025-11-14.tar.gz`"
_CHUNK = 1024 * 1024
# A Windows drive ("C:") or an fsspec chain/URL ("zip::", "s3://") must never be read as a location.
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Location:
    """A resolved archive: a local path (used in place) or a path on a remote fsspec filesystem."""

    name: str  # as requested, for messages
    fs: AbstractFileSystem | None  # None for a local path (read in place; see `remote_fs`)
    path: str  # path inside ``fs``
    local_path: Path | None  # set when the archive is on the local disk
    is_dir: bool
    size: int | None
    # the storage root it was found in (resolved), so a local folder can be opened from the root
    # down without following links; None for CLI local paths and remote locations
    root: Path | None = None

    @property
    def is_local(self) -> bool:
        return self.local_path is not None

    @property
    def remote_fs(self) -> AbstractFileSystem:
        """The filesystem of a remote location (a local one has none)."""
        if self.fs is None:
            raise ArchiveError(f"'{printable(self.name)}' is a local path, not a location in storage.")
        return self.fs


@dataclass(frozen=True)
class RemoteFile:
    """One file of a remote directory archive; ``open`` returns a binary stream."""

    rel: str  # path relative to the directory, '/'-separated, not yet validated
    size: int | None
    open: Callable[[], IO[bytes]]


def validate_name(name: str, *, allow_empty: bool = False) -> str:
    """Return ``name`` normalised ('a//./b' -> 'a/b') or raise `ArchiveError` when it could leave a root.

    Refused: absolute paths, ``..`` segments, backslashes, NUL and control characters, URLs and
    fsspec chains (``s3://…``, ``zip::…``), drive letters, and (unless ``allow_empty``) empty names.
    """
    if not isinstance(name, str):
        raise ArchiveError("The archive name must be text.")
    name = name.strip()
    shown = printable(name)
    problem: str | None = None
    if _CONTROL.search(name):
        problem = "it contains control characters"
    elif "://" in name or "::" in name:
        problem = "it names a URL; names are relative to the configured storage"
    elif "\\" in name:
        problem = "it contains a backslash; use '/' between folders"
    elif name.startswith(("/", "~")) or _DRIVE.match(name):
        problem = "it is an absolute path"
    elif any(part == ".." for part in name.split("/")):
        problem = "it contains '..'"
    if problem is None:
        parts = [part for part in name.split("/") if part not in ("", ".")]
        normalised = "/".join(parts)
        if normalised or allow_empty:
            return normalised
        problem = "it is empty"
    raise ArchiveError(
        f"'{shown}' is not a valid archive name: {problem}. "
        f"Use a name relative to the archive storage, e.g. {_EXAMPLE}."
    )


def resolve(
    name: str, *, settings: Settings, allow_local_paths: bool = False
) -> Location:
    """Find ``name`` in the first storage root that holds it.

    With ``allow_local_paths`` (CLI only) an existing local file or directory is accepted as-is first.
    Raises `ArchiveNotFound` (message names the name, never the roots) or `ArchiveError`.
    """
    if (
        allow_local_paths
        and isinstance(name, str)
        and "\x00" not in name
        and name.strip()
    ):
        local = Path(name).expanduser()
        if os.path.lexists(local):
            return _local_location(name, local)
    clean = validate_name(name)
    roots = list(settings.storage_roots)
    if not roots:
        raise ArchiveError("No archive storage is configured (set STORAGE_ROOTS).")
    unreachable = 0
    for root in roots:
        try:
            found = _find_in_root(root, clean, name)
        except _RootUnavailable:
            unreachable += 1
            continue
        if found is not None:
            return found
    # From the CLI a missing default root (./archives) is normal: the user meant a local path.
    if unreachable == len(roots) and not allow_local_paths:
        raise ArchiveError(
            "The archive storage cannot be reached right now; try again later."
        )
    where = "in the archive storage" + (
        " or as a local path" if allow_local_paths else ""
    )
    raise ArchiveNotFound(
        f"No archive named '{printable(name)}' {where}. "
        f"Use {_EXAMPLE} with a name relative to the storage."
    )


def list_archives(prefix: str, *, settings: Settings) -> list[ArchiveRef]:
    """Directories and .tar.gz/.tgz/.tar/.zip files directly under ``prefix`` in every root, by name.

    A name present in several roots is listed once, from the first root (the one `resolve` uses).
    Hidden entries (leading '.') and symbolic links are left out. Roots that cannot be reached are
    logged and skipped, so one broken backend does not hide the others.
    """
    clean = validate_name(prefix, allow_empty=True)
    found: dict[str, ArchiveRef] = {}
    for root in settings.storage_roots:
        try:
            fs, root_path = _open_root(root)
            listed = _join(root_path, clean)
            if _is_local_fs(fs) and not _inside(
                Path(listed), Path(root_path)
            ):
                continue  # a symlinked folder leading out of the root is not part of the storage
            entries = fs.ls(listed, detail=True)
        except _RootUnavailable:
            continue
        except (FileNotFoundError, NotADirectoryError):
            continue
        except Exception as exc:
            log.warning("listing storage root %s failed: %s", _redact(root), exc)
            continue
        for entry in entries:
            base = str(entry.get("name", "")).rstrip("/").rsplit("/", 1)[-1]
            if not base or base.startswith(".") or entry.get("islink"):
                continue
            is_dir = entry.get("type") == "directory"
            if not is_dir and not base.lower().endswith(ARCHIVE_SUFFIXES):
                continue
            name = f"{clean}/{base}" if clean else base
            if name in found:
                continue
            size = None if is_dir else _as_int(entry.get("size"))
            found[name] = ArchiveRef(name, root, size, _mtime(entry), is_dir)
    return [found[key] for key in sorted(found)]


def fetch_file(location: Location, dest_dir: Path, *, settings: Settings) -> Path:
    """Copy a remote archive file into ``dest_dir``; local files are returned as they are.

    Refuses archives larger than ``settings.max_archive_bytes`` (checked against the listed size,
    then against the bytes actually received, since a listing can be stale or wrong).
    """
    if location.local_path is not None:
        return location.local_path
    limit = settings.max_archive_bytes
    if location.size is not None and location.size > limit:
        raise ArchiveError(_too_big(location.name, limit))
    base = location.path.rstrip("/").rsplit("/", 1)[-1] or "archive"
    dest = dest_dir / base
    received = 0
    try:
        with location.remote_fs.open(location.path, "rb") as src, open(dest, "xb") as out:
            while chunk := src.read(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise ArchiveError(_too_big(location.name, limit))
                out.write(chunk)
    except ArchiveError:
        raise
    except Exception as exc:  # backend errors become one user-facing error here
        log.warning("fetching %s failed", location.name, exc_info=True)
        raise ArchiveError(
            f"Could not fetch '{printable(location.name)}' from storage."
        ) from exc
    return dest


def walk_remote_dir(location: Location) -> Iterator[RemoteFile]:
    """Files below a remote directory archive (relative names are validated by the caller)."""
    try:
        listing = location.remote_fs.find(location.path, withdirs=False, detail=True)
    except Exception as exc:  # backend errors become one user-facing error here
        log.warning("listing %s failed", location.name, exc_info=True)
        raise ArchiveError(
            f"Could not list '{printable(location.name)}' in storage."
        ) from exc
    prefix = location.path.rstrip("/") + "/"
    fs = location.remote_fs
    for path in sorted(listing):
        info = listing[path]
        if info.get("type") == "directory" or not path.startswith(prefix):
            continue
        yield RemoteFile(
            rel=path[len(prefix) :],
            size=_as_int(info.get("size")),
            open=partial(fs.open, path, "rb"),
        )


# --- internals -------------------------------------------------------------------------------


class _RootUnavailable(Exception):
    """A root whose backend is missing or unreachable (already logged)."""


def _open_root(root: str) -> tuple[AbstractFileSystem, str]:
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(root)
    except Exception as exc:  # ImportError (extra missing), ValueError, auth errors…
        log.warning("storage root %s is unavailable: %s", _redact(root), exc)
        raise _RootUnavailable from exc
    return fs, str(path)


def _find_in_root(root: str, clean: str, requested: str) -> Location | None:
    fs, root_path = _open_root(root)
    if _is_local_fs(fs):
        return _find_local(Path(root_path), clean, requested)
    path = _join(root_path, clean)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as exc:  # permission/network errors of any backend
        log.warning("storage root %s failed for %r: %s", _redact(root), clean, exc)
        raise _RootUnavailable from exc
    is_dir = info.get("type") == "directory"
    return Location(
        requested, fs, path, None, is_dir, None if is_dir else _as_int(info.get("size"))
    )


def _find_local(root: Path, clean: str, requested: str) -> Location | None:
    try:
        root_real = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        log.warning("storage root %s is unavailable: %s", root, exc)
        raise _RootUnavailable from exc
    candidate = root_real / clean
    if not os.path.lexists(candidate):
        return None
    # A symlink inside the root may point anywhere; what counts is where it lands.
    real = candidate.resolve()
    if not real.is_relative_to(root_real):
        raise ArchiveError(
            f"'{printable(requested)}' points outside the archive storage; refusing it."
        )
    if not real.exists():
        return None
    return _local_location(requested, real, root=root_real)


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _local_location(requested: str, path: Path, *, root: Path | None = None) -> Location:
    try:
        is_dir = path.is_dir()
        size = None if is_dir else path.stat().st_size
    except OSError as exc:
        raise ArchiveError(
            f"Cannot read '{printable(requested)}': {exc.strerror or exc}"
        ) from exc
    return Location(requested, None, str(path), path, is_dir, size, root)


def _is_local_fs(fs: AbstractFileSystem) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _join(root_path: str, clean: str) -> str:
    root_path = root_path.rstrip("/")
    return f"{root_path}/{clean}" if clean else (root_path or "/")


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _mtime(info: dict[str, Any]) -> datetime | None:
    """Backends name the modification time differently (local: mtime, s3: LastModified, …)."""
    for key in (
        "mtime",
        "LastModified",
        "last_modified",
        "updated",
        "modified",
        "created",
    ):
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(float(value), tz=UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _too_big(name: str, limit: int) -> str:
    return f"'{printable(name)}' is larger than the {limit:,}-byte archive limit; refusing to fetch it."


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8 without control characters (undecodable bytes become U+FFFD)."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates that are not escaped bytes
        raw = text.encode("utf-8", "surrogatepass")
    return _CONTROL.sub("?", raw.decode("utf-8", "replace"))


def printable(text: str) -> str:
    """Printable, bounded form of an untrusted string, for messages and logs."""
    text = clean_text(text)
    return text if len(text) <= 200 else text[:197] + "..."


def short_reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= 160 else first[:157] + "..."


def _redact(root: str) -> str:
    """Roots may carry credentials in their URL (``s3://key:secret@bucket``); never log them."""
    return redact_secrets(root)
