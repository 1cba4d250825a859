"""The `bot.flows.ports.ArchiveSource` port on the configured storage roots."""

from __future__ import annotations

from contextlib import AbstractContextManager

from bot.adapters.extract import open_archive
from bot.adapters.storage import list_archives
from bot.core.types import ArchiveRef, ArchiveTree
from bot.settings import Settings


class StorageArchives:
    """Archive names resolved inside ``settings.storage_roots`` (fsspec), extracted safely."""

    def __init__(self, settings: Settings, *, remove_later: bool = False) -> None:
        self._settings = settings
        self._remove_later = remove_later  # a one-shot process (see `bot.adapters.extract.open_location`)

    def open(self, target: str, *, allow_local_paths: bool = False) -> AbstractContextManager[ArchiveTree]:
        return open_archive(target, settings=self._settings, allow_local_paths=allow_local_paths,
                            remove_later=self._remove_later)

    def list(self, prefix: str) -> list[ArchiveRef]:
        return list_archives(prefix, settings=self._settings)
