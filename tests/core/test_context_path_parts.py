"""A path's folder and file stem (`bot.core.context.path_context`) are split as text for plain
archive paths: the same parts as `pathlib` gives, for every shape of path."""

from __future__ import annotations

import random
from pathlib import PurePosixPath

import pytest

from bot.core.context import _folder_and_stem

SHAPES = ["a.csv", "a/b.csv", "a/b/c.tar.gz", ".hidden", "a/.hidden", "name.", "a/name.", "noext", "a/noext",
          "a..b", "a/..", "../a.md", "a/./b.json", "./a.json", "a//b.csv", "/abs/x.md", "a/b/", "", ".", "..",
          "a/.b.c", "é/日本.json", "a b/c d.txt", "a/b.c/d", "x.y/", "...", "a/...", "a/b..", "a/.x."]


def _pathlib(rel: str) -> tuple[str, str]:
    path = PurePosixPath(rel)
    folder = "" if str(path.parent) == "." else str(path.parent)
    return folder, path.name[: -len(path.suffix)] if path.suffix and path.suffix != path.name else path.name


@pytest.mark.parametrize("rel", SHAPES)
def test_parts_are_pathlibs(rel: str) -> None:
    assert _folder_and_stem(rel) == _pathlib(rel)


def test_random_paths_are_split_as_pathlib_splits_them() -> None:
    rng = random.Random(5)
    pieces = ["a", "b", ".", "..", "", "x.y", ".z", "w.", "run_2025-01-01", "é"]
    for _ in range(5000):
        rel = "/".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
        assert _folder_and_stem(rel) == _pathlib(rel), rel
