"""Persistence: runs and their measurements, answered events, digest subscriptions and digests.

``store = open_store(settings.database_url)`` connects, migrates the schema (Alembic) and returns
the thread-safe `Store`. Everything it returns is a plain frozen record.
"""

from bot.adapters.db.records import (
    DIGEST_STATUSES,
    RUN_STATUSES,
    TRIGGERS,
    Digest,
    RecordConflict,
    Run,
    StoreError,
    Subscription,
    UnknownRecord,
)
from bot.adapters.db.store import Store, digest_run_key, open_store

__all__ = [
    "DIGEST_STATUSES",
    "RUN_STATUSES",
    "TRIGGERS",
    "Digest",
    "RecordConflict",
    "Run",
    "Store",
    "StoreError",
    "Subscription",
    "UnknownRecord",
    "digest_run_key",
    "open_store",
]
