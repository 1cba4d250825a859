"""Opening archives as local trees: folders in place, tar/zip extracted safely, hostile ones refused."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import fsspec
import pytest

from bot.adapters.extract import ArchiveTree, open_archive
from bot.errors import ArchiveError, ArchiveNotFound, UnsafeArchive
from tests.archive_factory import (
    SAMPLE_FILES,
    add_tar_member,
    archive_settings,
    hostile_tar,
    incompressible,
    make_tar,
    make_zip,
    patch_zip_sizes,
    random_bytes_file,
    set_zip_utf8_flag_with_bad_name,
    truncated_copy,
    write_tree,
    zip_of_zeros,
    zip_with_mode,
)

MB = 1024 * 1024


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    root.mkdir()
    return root


def work_entries(tmp_path: Path) -> list[Path]:
    work = tmp_path / "work"
    return list(work.iterdir()) if work.exists() else []


def read_tree(tree: ArchiveTree) -> dict[str, bytes]:
    return {rel: (tree.root / rel).read_bytes() for rel in tree.files}


def reasons(tree: ArchiveTree) -> dict[str, str]:
    return {item.path: item.reason for item in tree.skipped}


# --- normal archives --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("run.tar.gz", "w:gz"),
        ("run.tgz", "w:gz"),
        ("run.tar", "w"),
        ("run.TAR.GZ", "w:gz"),
    ],
)
def test_tar_archives_extract_and_scratch_is_removed(
    tmp_path: Path, storage: Path, name: str, mode: str
) -> None:
    make_tar(storage / "nightly" / name, SAMPLE_FILES, mode=mode)
    settings = archive_settings(tmp_path)
    with open_archive(f"nightly/{name}", settings=settings) as tree:
        assert tree.name == f"nightly/{name}"
        assert tree.root.is_relative_to(tmp_path / "work")
        assert read_tree(tree) == SAMPLE_FILES
        assert tree.files == sorted(SAMPLE_FILES)
        assert tree.skipped == []
        root = tree.root
    assert not root.exists()
    assert work_entries(tmp_path) == []


def test_scratch_removed_later_is_gone_once_its_thread_is_done(tmp_path: Path, storage: Path) -> None:
    """``remove_later`` (chimera analyze): the scratch goes in a thread the interpreter waits for at exit."""
    import threading

    make_tar(storage / "run.tar.gz", SAMPLE_FILES, mode="w:gz")
    with open_archive("run.tar.gz", settings=archive_settings(tmp_path), remove_later=True) as tree:
        assert read_tree(tree) == SAMPLE_FILES
    removal = [t for t in threading.enumerate() if t.name == "scratch-removal"]
    assert all(not t.daemon for t in removal)  # so a process waits for it before it exits
    for thread in removal:
        thread.join()
    assert work_entries(tmp_path) == []


def test_zip_extracts_with_folders_and_windows_separators(
    tmp_path: Path, storage: Path
) -> None:
    files = dict(SAMPLE_FILES)
    files["empty-dir/"] = b""
    files["win\\style\\data.csv"] = b"a\n1\n"
    make_zip(storage / "run.zip", files)
    with open_archive("run.zip", settings=archive_settings(tmp_path)) as tree:
        expected = dict(SAMPLE_FILES)
        expected["win/style/data.csv"] = b"a\n1\n"
        assert read_tree(tree) == expected
        assert (tree.root / "empty-dir").is_dir()
    assert work_entries(tmp_path) == []


def test_format_is_sniffed_when_the_name_has_no_known_suffix(
    tmp_path: Path, storage: Path
) -> None:
    make_zip(storage / "zipped.bin", SAMPLE_FILES)
    make_tar(storage / "tarred.bin", SAMPLE_FILES)
    (storage / "notes.txt").write_text("just text")
    settings = archive_settings(tmp_path)
    for name in ("zipped.bin", "tarred.bin"):
        with open_archive(name, settings=settings) as tree:
            assert read_tree(tree) == SAMPLE_FILES
    with (
        pytest.raises(
            ArchiveError, match=r"'notes.txt' is not a readable .tar.gz/.zip archive"
        ),
        open_archive("notes.txt", settings=settings),
    ):
        pass


def test_directory_is_copied_to_scratch_without_following_links(
    tmp_path: Path, storage: Path
) -> None:
    folder = write_tree(storage / "nightly" / "run", SAMPLE_FILES)
    (tmp_path / "secret.txt").write_text("server secret")
    os.symlink(tmp_path / "secret.txt", folder / "leak.csv")
    os.symlink(tmp_path, folder / "leakdir")
    os.symlink(folder / "results.csv", folder / "alias.csv")
    os.mkfifo(folder / "pipe")
    (folder / "huge.csv").write_bytes(b"x" * 2048)
    settings = archive_settings(tmp_path, max_file_bytes=1024)

    with open_archive("nightly/run", settings=settings) as tree:
        # a private copy, read through directory handles: nothing can be swapped under ingest
        assert tree.root.is_relative_to(tmp_path / "work")
        assert read_tree(tree) == SAMPLE_FILES
        why = reasons(tree)
        assert (
            "pointing outside" in why["leak.csv"] and "not followed" in why["leak.csv"]
        )
        assert "pointing outside" in why["leakdir"]
        assert (
            "inside" in why["alias.csv"] and "pointing outside" not in why["alias.csv"]
        )
        assert "special file" in why["pipe"]
        assert why["huge.csv"] == "too large (2,048 bytes > limit 1,024)"
    # the folder is left as it was, and the copy is removed
    assert folder.exists() and (folder / "results.csv").exists()
    assert work_entries(tmp_path) == []


def test_directory_over_member_or_total_limits_is_refused(
    tmp_path: Path, storage: Path
) -> None:
    write_tree(storage / "run", {f"f{i}.csv": b"x" * 100 for i in range(10)})
    with (
        pytest.raises(UnsafeArchive, match="limit of 5 members"),
        open_archive("run", settings=archive_settings(tmp_path, max_members=5)),
    ):
        pass
    with (
        pytest.raises(UnsafeArchive, match="more than 500 bytes"),
        open_archive(
            "run", settings=archive_settings(tmp_path, max_uncompressed_bytes=500)
        ),
    ):
        pass


def test_local_path_mode_opens_an_archive_outside_the_roots(
    tmp_path: Path, storage: Path
) -> None:
    outside = make_tar(tmp_path / "downloads" / "mine.tgz", SAMPLE_FILES)
    settings = archive_settings(tmp_path)
    with (
        pytest.raises(ArchiveError, match="absolute"),
        open_archive(str(outside), settings=settings),
    ):
        pass
    with open_archive(str(outside), settings=settings, allow_local_paths=True) as tree:
        assert read_tree(tree) == SAMPLE_FILES
    assert outside.exists()  # the user's file is never removed


def test_missing_archive_raises_not_found(tmp_path: Path, storage: Path) -> None:
    with (
        pytest.raises(ArchiveNotFound, match=r"nightly/none\.tgz"),
        open_archive("nightly/none.tgz", settings=archive_settings(tmp_path)),
    ):
        pass


# --- remote (fsspec) archives ---------------------------------------------------------------




def test_remote_archive_and_remote_folder_are_fetched_into_scratch(
    tmp_path: Path, memory_root: str
) -> None:
    fs, base = fsspec.core.url_to_fs(memory_root)
    fs.pipe(
        f"{base}/nightly/run.tgz",
        make_tar(tmp_path / "src.tgz", SAMPLE_FILES).read_bytes(),
    )
    for rel, data in SAMPLE_FILES.items():
        fs.pipe(f"{base}/nightly/folder/{rel}", data)
    fs.pipe(f"{base}/nightly/folder/big.bin", b"x" * 4096)
    settings = archive_settings(tmp_path, roots=[memory_root], max_file_bytes=1024)

    with open_archive("nightly/run.tgz", settings=settings) as tree:
        assert read_tree(tree) == SAMPLE_FILES
        # the packed copy is deleted once extracted
        assert not (tree.root.parent / "download" / "run.tgz").exists()
    with open_archive("nightly/folder", settings=settings) as tree:
        assert read_tree(tree) == SAMPLE_FILES
        assert reasons(tree) == {"big.bin": "too large (4,096 bytes > limit 1,024)"}
    assert work_entries(tmp_path) == []


def test_remote_archive_over_the_archive_limit_is_refused(
    tmp_path: Path, memory_root: str
) -> None:
    fs, base = fsspec.core.url_to_fs(memory_root)
    payload = make_tar(
        tmp_path / "src.tgz", {"a.bin": incompressible(8192)}
    ).read_bytes()
    fs.pipe(f"{base}/run.tgz", payload)
    settings = archive_settings(tmp_path, roots=[memory_root], max_archive_bytes=4096)
    with (
        pytest.raises(ArchiveError, match="archive limit"),
        open_archive("run.tgz", settings=settings),
    ):
        pass
    assert work_entries(tmp_path) == []


# --- hostile archives -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "kind", "linkname", "message"),
    [
        ("../evil.sh", tarfile.REGTYPE, "", "leaves the archive"),
        ("runs/../../evil.sh", tarfile.REGTYPE, "", "leaves the archive"),
        ("..\\..\\evil.bat", tarfile.REGTYPE, "", "leaves the archive"),
        ("/etc/cron.d/evil", tarfile.REGTYPE, "", "absolute path"),
        ("link-abs", tarfile.SYMTYPE, "/etc/passwd", "link pointing outside"),
        ("runs/link-up", tarfile.SYMTYPE, "../../etc/passwd", "link pointing outside"),
        ("hard-out", tarfile.LNKTYPE, "../outside.txt", "link pointing outside"),
        ("hard-abs", tarfile.LNKTYPE, "/etc/shadow", "link pointing outside"),
        ("null", tarfile.CHRTYPE, "", "device file"),
        ("disk", tarfile.BLKTYPE, "", "device file"),
        ("pipe", tarfile.FIFOTYPE, "", "FIFO"),
    ],
)
def test_hostile_tar_members_refuse_the_whole_archive(
    tmp_path: Path, storage: Path, member: str, kind: bytes, linkname: str, message: str
) -> None:
    hostile_tar(storage / "evil.tar.gz", member, kind=kind, linkname=linkname)
    with (
        pytest.raises(UnsafeArchive) as caught,
        open_archive("evil.tar.gz", settings=archive_settings(tmp_path)),
    ):
        pytest.fail("a hostile archive must not be opened")
    text = str(caught.value)
    assert message in text and "evil.tar.gz" in text and "\n" not in text
    assert member.split("/")[-1].split("\\")[-1] in text  # names the offending member
    assert work_entries(tmp_path) == []
    assert not (tmp_path / "evil.sh").exists() and not (tmp_path / "evil.bat").exists()


def test_links_that_stay_inside_are_skipped_with_a_reason(
    tmp_path: Path, storage: Path
) -> None:
    with tarfile.open(storage / "links.tgz", "w:gz") as tar:
        add_tar_member(tar, "runs/a.csv", data=b"a\n1\n")
        add_tar_member(tar, "runs/same.csv", kind=tarfile.SYMTYPE, linkname="a.csv")
        add_tar_member(
            tar, "up.csv", kind=tarfile.SYMTYPE, linkname="runs/../runs/a.csv"
        )
        add_tar_member(tar, "hard.csv", kind=tarfile.LNKTYPE, linkname="runs/a.csv")
    with open_archive("links.tgz", settings=archive_settings(tmp_path)) as tree:
        assert tree.files == ["runs/a.csv"]
        why = reasons(tree)
        assert set(why) == {"runs/same.csv", "up.csv", "hard.csv"}
        assert "symbolic link to 'a.csv'" in why["runs/same.csv"]
        assert "hard link" in why["hard.csv"]
        assert not any(p.is_symlink() for p in tree.root.rglob("*"))


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.sh", "leaves the archive"),
        ("/abs/evil.sh", "absolute path"),
        ("a\\..\\..\\evil.sh", "leaves the archive"),
    ],
)
def test_hostile_zip_paths_are_refused(
    tmp_path: Path, storage: Path, member: str, message: str
) -> None:
    make_zip(storage / "evil.zip", {"ok.csv": b"1\n", member: b"owned\n"})
    with (
        pytest.raises(UnsafeArchive, match=message),
        open_archive("evil.zip", settings=archive_settings(tmp_path)),
    ):
        pass
    assert work_entries(tmp_path) == []
    assert not (tmp_path / "evil.sh").exists()


def test_zip_symlinks_out_are_refused_and_inside_are_skipped(
    tmp_path: Path, storage: Path
) -> None:
    zip_with_mode(
        storage / "out.zip", "leak", b"../../etc/passwd", stat.S_IFLNK | 0o777
    )
    zip_with_mode(storage / "in.zip", "alias.csv", b"ok.csv", stat.S_IFLNK | 0o777)
    zip_with_mode(storage / "dev.zip", "null", b"", stat.S_IFCHR | 0o666)
    settings = archive_settings(tmp_path)
    with (
        pytest.raises(UnsafeArchive, match="'leak' is a link pointing outside"),
        open_archive("out.zip", settings=settings),
    ):
        pass
    with (
        pytest.raises(UnsafeArchive, match="'null' is a device file"),
        open_archive("dev.zip", settings=settings),
    ):
        pass
    with open_archive("in.zip", settings=settings) as tree:
        assert tree.files == ["ok.csv"]
        assert "symbolic link to 'ok.csv'" in reasons(tree)["alias.csv"]


def test_member_count_limit(tmp_path: Path, storage: Path) -> None:
    many = {f"f{i}.csv": b"1\n" for i in range(30)}
    make_tar(storage / "many.tgz", many)
    make_zip(storage / "many.zip", many)
    settings = archive_settings(tmp_path, max_members=20)
    for name in ("many.tgz", "many.zip"):
        with (
            pytest.raises(
                UnsafeArchive, match=r"'f20\.csv' is beyond the limit of 20 members"
            ),
            open_archive(name, settings=settings),
        ):
            pass
    with open_archive(
        "many.zip", settings=archive_settings(tmp_path, max_members=30)
    ) as tree:
        assert len(tree.files) == 30


def test_one_oversize_member_is_skipped_not_fatal(
    tmp_path: Path, storage: Path
) -> None:
    zip_of_zeros(storage / "bomb.zip", {"zeros.bin": 50 * MB})
    make_zip(storage / "mixed.zip", {"small.csv": b"1\n", "big.csv": b"x" * 5000})
    assert (storage / "bomb.zip").stat().st_size < 200 * 1024  # 50 MB that packs tiny
    settings = archive_settings(tmp_path, max_file_bytes=1 * MB)
    with open_archive("bomb.zip", settings=settings) as tree:
        assert tree.files == []
        assert reasons(tree) == {
            "zeros.bin": "too large (52,428,800 bytes > limit 1,048,576)"
        }
    with open_archive(
        "mixed.zip", settings=archive_settings(tmp_path, max_file_bytes=4096)
    ) as tree:
        assert read_tree(tree) == {"small.csv": b"1\n"}
        assert reasons(tree)["big.csv"] == "too large (5,000 bytes > limit 4,096)"


def test_total_size_bomb_is_refused_by_bytes_actually_written(
    tmp_path: Path, storage: Path
) -> None:
    zip_of_zeros(storage / "bomb.zip", {f"part{i}.bin": 4 * MB for i in range(6)})
    make_tar(storage / "bomb.tgz", {f"part{i}.bin": bytes(4 * MB) for i in range(6)})
    settings = archive_settings(
        tmp_path, max_file_bytes=8 * MB, max_uncompressed_bytes=10 * MB
    )
    for name in ("bomb.zip", "bomb.tgz"):
        with (
            pytest.raises(
                UnsafeArchive, match=r"'part2\.bin' takes the archive past 10,485,760"
            ),
            open_archive(name, settings=settings),
        ):
            pass
        assert work_entries(tmp_path) == []


def test_zip_with_lying_size_headers_is_not_trusted(
    tmp_path: Path, storage: Path
) -> None:
    """Headers claim 1 KB per member; what the members inflate to is what counts."""
    zip_of_zeros(storage / "liar.zip", {"zeros.bin": 50 * MB})
    patch_zip_sizes(storage / "liar.zip", 1024)
    settings = archive_settings(tmp_path, max_file_bytes=2048, max_uncompressed_bytes=4096)
    with (
        pytest.raises(ArchiveError, match=r"zeros\.bin"),
        open_archive("liar.zip", settings=settings),
    ):
        pass
    assert work_entries(tmp_path) == []


def test_truncated_tar_gz_is_an_archive_error(tmp_path: Path, storage: Path) -> None:
    files = {f"f{i}.bin": incompressible(64 * 1024, seed=i) for i in range(4)}
    good = make_tar(tmp_path / "good.tar.gz", files)
    truncated_copy(good, storage / "cut.tar.gz", keep=0.5)
    with (
        pytest.raises(ArchiveError) as caught,
        open_archive("cut.tar.gz", settings=archive_settings(tmp_path)),
    ):
        pass
    assert not isinstance(caught.value, UnsafeArchive)
    assert str(caught.value).startswith(
        "'cut.tar.gz' is not a readable .tar.gz/.zip archive: "
    )
    assert work_entries(tmp_path) == []


def test_tar_cut_at_a_header_boundary_is_not_taken_as_complete(
    tmp_path: Path, storage: Path
) -> None:
    """tarfile stops quietly at a missing header; the end-of-archive marker must be there."""
    good = make_tar(tmp_path / "good.tar", {"a.csv": b"1\n", "b.csv": b"2\n"}, mode="w")
    raw = good.read_bytes()
    (storage / "cut.tar").write_bytes(raw[: 3 * 512])  # a.csv, then b.csv's header only
    (storage / "cut2.tar").write_bytes(raw[: 2 * 512])  # a.csv, then nothing at all
    for name in ("cut.tar", "cut2.tar"):
        with (
            pytest.raises(ArchiveError, match=r"not a readable \.tar\.gz/\.zip archive"),
            open_archive(name, settings=archive_settings(tmp_path)),
        ):
            pass


@pytest.mark.parametrize(
    "name", ["random.zip", "random.tar.gz", "random.tgz", "empty.zip"]
)
def test_garbage_is_an_archive_error(tmp_path: Path, storage: Path, name: str) -> None:
    if name.startswith("empty"):
        (storage / name).write_bytes(b"")
    else:
        random_bytes_file(storage / name)
    with (
        pytest.raises(
            ArchiveError, match=rf"^'{name}' is not a readable .tar.gz/.zip archive: \S"
        ),
        open_archive(name, settings=archive_settings(tmp_path)),
    ):
        pass
    assert work_entries(tmp_path) == []


def test_scratch_is_removed_when_the_caller_raises(
    tmp_path: Path, storage: Path
) -> None:
    make_zip(storage / "run.zip", SAMPLE_FILES)
    with (
        pytest.raises(RuntimeError, match="boom"),
        open_archive("run.zip", settings=archive_settings(tmp_path)) as tree,
    ):
        assert tree.root.exists()
        raise RuntimeError("boom")
    assert work_entries(tmp_path) == []


# --- odd member names ---------------------------------------------------------------------------


def test_odd_member_name_encodings_do_not_crash(tmp_path: Path, storage: Path) -> None:
    with tarfile.open(
        storage / "latin1.tar", "w", format=tarfile.GNU_FORMAT, encoding="latin-1"
    ) as tar:
        add_tar_member(tar, "café.csv", data=b"a\n1\n")
    make_zip(storage / "utf8.zip", {"résumé/ü.csv": b"1\n", "日本.csv": b"2\n"})
    make_zip(storage / "badutf8.zip", {"cafe.csv": b"1\n"})
    set_zip_utf8_flag_with_bad_name(
        storage / "badutf8.zip", b"cafe.csv", b"caf\xff.csv"
    )
    settings = archive_settings(tmp_path)

    with open_archive("latin1.tar", settings=settings) as tree:
        assert tree.files == [
            "caf\ufffd.csv"
        ]  # the undecodable byte becomes U+FFFD, usable as str
        assert (tree.root / tree.files[0]).read_bytes() == b"a\n1\n"
        tree.files[0].encode("utf-8")
    with open_archive("utf8.zip", settings=settings) as tree:
        assert sorted(tree.files) == ["résumé/ü.csv", "日本.csv"]
    with (
        pytest.raises(ArchiveError, match="not a readable"),
        open_archive("badutf8.zip", settings=settings),
    ):
        pass


def test_duplicate_and_clashing_member_names_are_skipped(
    tmp_path: Path, storage: Path
) -> None:
    with tarfile.open(storage / "dups.tar", "w") as tar:
        add_tar_member(tar, "a.csv", data=b"first\n")
        add_tar_member(tar, "a.csv", data=b"second\n")
        add_tar_member(tar, "a.csv/inner.csv", data=b"x\n")
    with open_archive("dups.tar", settings=archive_settings(tmp_path)) as tree:
        assert read_tree(tree) == {"a.csv": b"first\n"}
        why = reasons(tree)
        assert "duplicate" in why["a.csv"] and "clash" in why["a.csv/inner.csv"]
