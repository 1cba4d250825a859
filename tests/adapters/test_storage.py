"""Resolving untrusted archive names inside storage roots (local folders and fsspec URLs)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import fsspec
import pytest

from bot.adapters.storage import fetch_file, list_archives, resolve, validate_name
from bot.errors import ArchiveError, ArchiveNotFound
from tests.archive_factory import archive_settings, make_tar, make_zip, write_tree


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    make_tar(root / "nightly" / "2025-11-14.tar.gz", {"a.csv": b"x\n"})
    write_tree(root / "nightly" / "folder-run", {"a.csv": b"x\n"})
    (tmp_path / "secret.txt").write_text("server secret")
    return root




@pytest.mark.parametrize(
    "name",
    [
        "nightly/2025-11-14.tar.gz",
        "./nightly//2025-11-14.tar.gz",
        "  nightly/2025-11-14.tar.gz ",
    ],
)
def test_names_inside_the_root_resolve(
    tmp_path: Path, storage: Path, name: str
) -> None:
    location = resolve(name, settings=archive_settings(tmp_path))
    assert location.local_path == (storage / "nightly" / "2025-11-14.tar.gz").resolve()
    assert not location.is_dir
    assert location.name == name


def test_a_directory_resolves_as_a_directory(tmp_path: Path, storage: Path) -> None:
    location = resolve("nightly/folder-run", settings=archive_settings(tmp_path))
    assert (
        location.is_dir
        and location.local_path == (storage / "nightly" / "folder-run").resolve()
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../secret.txt", "'..'"),
        ("a/../../secret.txt", "'..'"),
        ("nightly/..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/secret.txt", "absolute"),
        ("C:/Windows/win.ini", "absolute"),
        ("..\\secret.txt", "backslash"),
        ("nightly\\..\\..\\secret.txt", "backslash"),
        ("s3://other-bucket/x.tar.gz", "URL"),
        ("file:///etc/passwd", "URL"),
        ("zip::nightly/a.zip", "URL"),
        ("nightly/a\x00.tar.gz", "control"),
        ("nightly/a\n.tar.gz", "control"),
        ("", "empty"),
        ("   ", "empty"),
        ("./.", "empty"),
    ],
)
def test_names_that_could_leave_the_root_are_refused(
    tmp_path: Path, storage: Path, name: str, why: str
) -> None:
    with pytest.raises(ArchiveError) as caught:
        resolve(name, settings=archive_settings(tmp_path))
    assert not isinstance(caught.value, ArchiveNotFound)
    message = str(caught.value)
    assert why in message and "relative" in message
    assert str(tmp_path) not in message and "\n" not in message


def test_a_symlink_inside_the_root_pointing_out_is_refused(
    tmp_path: Path, storage: Path
) -> None:
    os.symlink(tmp_path / "secret.txt", storage / "escape.tar.gz")
    with pytest.raises(ArchiveError, match="outside the archive storage"):
        resolve("escape.tar.gz", settings=archive_settings(tmp_path))


def test_not_found_names_the_name_and_not_the_server_paths(
    tmp_path: Path, storage: Path
) -> None:
    settings = archive_settings(tmp_path, roots=[str(storage), str(tmp_path / "other")])
    with pytest.raises(ArchiveNotFound) as caught:
        resolve("nightly/2099-01-01.tar.gz", settings=settings)
    message = str(caught.value)
    assert "nightly/2099-01-01.tar.gz" in message
    assert "/chimera analyze" in message and "relative" in message
    assert str(tmp_path) not in message and "storage/nightly" not in message


def test_roots_are_tried_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_zip(second / "only-second.zip", {"a.csv": b"1\n"})
    make_zip(first / "both.zip", {"a.csv": b"1\n"})
    make_zip(second / "both.zip", {"a.csv": b"2\n"})
    settings = archive_settings(tmp_path, roots=[str(first), str(second)])
    assert resolve("only-second.zip", settings=settings).local_path == (
        second / "only-second.zip"
    )
    assert resolve("both.zip", settings=settings).local_path == (first / "both.zip")


def test_a_root_whose_backend_is_missing_is_skipped_not_fatal(
    tmp_path: Path, storage: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = archive_settings(
        tmp_path, roots=["nosuchproto://key:hunter2@bucket/x", str(storage)]
    )
    with caplog.at_level(logging.WARNING, logger="bot.adapters.storage"):
        location = resolve("nightly/2025-11-14.tar.gz", settings=settings)
    assert location.is_local
    assert "nosuchproto" in caplog.text and "hunter2" not in caplog.text


def test_only_unreachable_roots_is_a_storage_error_not_a_missing_archive(
    tmp_path: Path,
) -> None:
    settings = archive_settings(
        tmp_path, roots=["nosuchproto://bucket/x", str(tmp_path / "absent")]
    )
    with pytest.raises(ArchiveError, match="cannot be reached") as caught:
        resolve("a.zip", settings=settings)
    assert not isinstance(caught.value, ArchiveNotFound)


def test_memory_fsspec_root_resolves_and_fetches(
    tmp_path: Path, memory_root: str
) -> None:
    fs, base = fsspec.core.url_to_fs(memory_root)
    payload = make_zip(tmp_path / "src.zip", {"a.csv": b"1\n"}).read_bytes()
    fs.pipe(f"{base}/nightly/run.zip", payload)
    settings = archive_settings(tmp_path, roots=[memory_root])

    location = resolve("nightly/run.zip", settings=settings)
    assert not location.is_local and location.size == len(payload)
    dest = tmp_path / "dl"
    dest.mkdir()
    fetched = fetch_file(location, dest, settings=settings)
    assert fetched.read_bytes() == payload and fetched.parent == dest

    with pytest.raises(ArchiveNotFound):
        resolve("nightly/missing.zip", settings=settings)
    with pytest.raises(ArchiveError, match=r"'\.\.'"):
        resolve("nightly/../../elsewhere/run.zip", settings=settings)


def test_remote_archive_over_the_size_limit_is_not_fetched(
    tmp_path: Path, memory_root: str
) -> None:
    fs, base = fsspec.core.url_to_fs(memory_root)
    fs.pipe(f"{base}/big.zip", b"\0" * 5000)
    settings = archive_settings(tmp_path, roots=[memory_root], max_archive_bytes=4096)
    location = resolve("big.zip", settings=settings)
    dest = tmp_path / "dl"
    dest.mkdir()
    with pytest.raises(ArchiveError, match="larger than the 4,096-byte archive limit"):
        fetch_file(location, dest, settings=settings)
    assert list(dest.iterdir()) == []


def test_local_path_mode_accepts_existing_paths_only_when_allowed(
    tmp_path: Path, storage: Path
) -> None:
    elsewhere = make_zip(tmp_path / "elsewhere" / "local.zip", {"a.csv": b"1\n"})
    settings = archive_settings(tmp_path)

    with pytest.raises(ArchiveError, match="absolute"):
        resolve(str(elsewhere), settings=settings)
    assert (
        resolve(str(elsewhere), settings=settings, allow_local_paths=True).local_path
        == elsewhere
    )
    folder = resolve(
        str(tmp_path / "elsewhere"), settings=settings, allow_local_paths=True
    )
    assert folder.is_dir
    # names inside the roots keep working, and a missing path says where it looked
    assert resolve(
        "nightly/folder-run", settings=settings, allow_local_paths=True
    ).is_dir
    with pytest.raises(ArchiveNotFound, match="or as a local path"):
        resolve("nowhere.zip", settings=settings, allow_local_paths=True)


def test_list_archives_finds_folders_and_archives_once_sorted(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_tar(first / "nightly" / "b.tar.gz", {"a.csv": b"1\n"})
    make_zip(first / "nightly" / "a.zip", {"a.csv": b"1\n"})
    write_tree(first / "nightly" / "c-folder", {"a.csv": b"1\n"})
    (first / "nightly" / "notes.txt").write_text("not an archive")
    make_tar(first / "nightly" / ".partial.tgz", {"a.csv": b"1\n"})
    make_tar(tmp_path / "outside.tgz", {"a.csv": b"1\n"})
    os.symlink(tmp_path / "outside.tgz", first / "nightly" / "link.tgz")
    make_zip(second / "nightly" / "a.zip", {"a.csv": b"2\n"})
    make_tar(second / "nightly" / "d.tgz", {"a.csv": b"1\n"})
    make_tar(second / "weekly" / "w.tgz", {"a.csv": b"1\n"})
    settings = archive_settings(tmp_path, roots=[str(first), str(second)])

    refs = list_archives("nightly", settings=settings)

    assert [ref.name for ref in refs] == [
        "nightly/a.zip",
        "nightly/b.tar.gz",
        "nightly/c-folder",
        "nightly/d.tgz",
    ]
    by_name = {ref.name: ref for ref in refs}
    assert by_name["nightly/a.zip"].root == str(first)
    assert by_name["nightly/a.zip"].size == (first / "nightly" / "a.zip").stat().st_size
    assert (
        by_name["nightly/c-folder"].is_dir and by_name["nightly/c-folder"].size is None
    )
    assert by_name["nightly/d.tgz"].mtime is not None
    assert by_name["nightly/d.tgz"].mtime.timestamp() == pytest.approx(
        (second / "nightly" / "d.tgz").stat().st_mtime
    )
    # every listed name resolves back to what was listed
    for ref in refs:
        assert resolve(ref.name, settings=settings).local_path is not None
    assert [ref.name for ref in list_archives("", settings=settings)] == [
        "nightly",
        "weekly",
    ]
    assert list_archives("absent", settings=settings) == []
    with pytest.raises(ArchiveError):
        list_archives("../", settings=settings)


def test_list_archives_on_a_memory_root(tmp_path: Path, memory_root: str) -> None:
    fs, base = fsspec.core.url_to_fs(memory_root)
    fs.pipe(f"{base}/nightly/b.tgz", b"x")
    fs.pipe(f"{base}/nightly/a.zip", b"yy")
    fs.pipe(f"{base}/nightly/readme.md", b"z")
    refs = list_archives(
        "nightly", settings=archive_settings(tmp_path, roots=[memory_root])
    )
    assert [(ref.name, ref.size, ref.root) for ref in refs] == [
        ("nightly/a.zip", 2, memory_root),
        ("nightly/b.tgz", 1, memory_root),
    ]
    assert all(ref.mtime is not None for ref in refs)


def test_validate_name_normalises() -> None:
    assert validate_name("a//b/./c.zip") == "a/b/c.zip"
    assert validate_name("", allow_empty=True) == ""
    assert validate_name("gemma3:270m/run.zip") == "gemma3:270m/run.zip"
