"""Exactly once: Slack events (and other keys) claimed by whichever process sees them first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from bot.adapters.db.database import Database, insert_if_absent, require_aware
from bot.adapters.db.schema import AnsweredEventRow, utcnow

_EVENTS = AnsweredEventRow.metadata.tables[AnsweredEventRow.__tablename__]


class EventRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def mark_event_seen(self, event_id: str, *, run_id: int | None = None) -> bool:
        """True the first time `event_id` is seen by any process sharing the database."""
        if not event_id:
            raise ValueError("event id must not be empty")
        with self._db.tx(write=True) as session:
            return insert_if_absent(session, _EVENTS, {"event_id": event_id, "run_id": run_id, "created_at": utcnow()},
                                    key=["event_id"], returning=_EVENTS.c.event_id) is not None

    def prune_events(self, *, before: datetime) -> int:
        """Forget event ids recorded before `before` (Slack retries only for minutes)."""
        require_aware(before)
        with self._db.tx(write=True) as session:
            result = session.execute(
                delete(AnsweredEventRow).where(AnsweredEventRow.created_at < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)
