"""Persistence: runs and their measurements, answered events, digest subscriptions and digests.

``store = open_store(settings.database_url)`` connects, migrates the schema (Alembic) and returns
the thread-safe `Store`. Everything it returns is a plain frozen record.
"""

from bot.adapters.db.digests import digest_run_key
from bot.adapters.db.store import Store, open_store

__all__ = ["Store", "digest_run_key", "open_store"]
