"""The project's exceptions. Outside errors are converted to these once, at the edge."""

from __future__ import annotations


class ChimeraError(Exception):
    """Base class. `str(err)` is a short message fit to show a user (no secrets, no traceback)."""


class ArchiveError(ChimeraError):
    """The archive cannot be resolved, fetched or safely extracted."""


class ArchiveNotFound(ArchiveError):
    """No archive by that name inside the storage roots."""


class UnsafeArchive(ArchiveError):
    """The archive holds a member we refuse to extract (traversal, link out, device, too large)."""


class LLMError(ChimeraError):
    """The language model could not produce a usable answer."""


class SlackDeliveryError(ChimeraError):
    """Slack refused or failed a call we needed."""


class StoreError(ChimeraError):
    """The bot's database failed or refused an operation (details are in the log)."""


class RecordConflict(StoreError):
    """A unique key (run key, event id, digest key) is already taken by another writer."""


class UnknownRecord(StoreError, LookupError):
    """The run, subscription or digest named by id does not exist."""
