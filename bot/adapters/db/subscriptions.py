"""A channel's digest subscriptions."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import func, select, text, update

from bot.adapters.db.convert import subscription_record
from bot.adapters.db.database import Database
from bot.adapters.db.frames import json_document
from bot.adapters.db.schema import SubscriptionRow
from bot.core.records import Subscription
from bot.errors import LimitReached


class SubscriptionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_subscription(
        self,
        *,
        channel: str,
        schedule: str,
        trigger: dict[str, Any],
        timezone: str,
        prefix: str,
        quiet_when_nothing_new: bool = False,
        created_by: str | None = None,
        max_per_channel: int | None = None,
    ) -> Subscription:
        """Persist a subscription. `trigger` holds the parsed schedule (e.g. cron fields).

        With ``max_per_channel``, raises `LimitReached` when the channel already has that many
        active subscriptions. The count and the insert are one write transaction holding the
        database's lock (SQLite's BEGIN IMMEDIATE; a per-channel advisory lock on PostgreSQL), so
        parallel adds cannot pass the limit together."""
        for name, value in (("channel", channel), ("schedule", schedule), ("timezone", timezone)):
            if not value:
                raise ValueError(f"subscription {name} must not be empty")
        row = SubscriptionRow(
            channel=channel,
            schedule=schedule,
            trigger=json_document(dict(trigger)),
            timezone=timezone,
            prefix=prefix,
            quiet_when_nothing_new=bool(quiet_when_nothing_new),
            created_by=created_by,
            active=True,
        )
        with self._db.tx(write=True) as session:
            if max_per_channel is not None:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                    {"key": zlib.crc32(f"chimera-digests:{channel}".encode())})
                active = session.scalar(select(func.count()).select_from(SubscriptionRow).where(
                    SubscriptionRow.channel == channel, SubscriptionRow.active.is_(True)))
                if (active or 0) >= max_per_channel:
                    raise LimitReached(f"This channel already has {max_per_channel} digests; remove one with "
                                       "`/chimera digest remove <id>` first.")
            session.add(row)
            session.flush()
            return subscription_record(row)

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        """The subscription by id, active or removed (a fire must be able to tell which)."""
        with self._db.tx() as session:
            row = session.get(SubscriptionRow, subscription_id)
            return None if row is None else subscription_record(row)

    def list_subscriptions(self, channel: str | None = None) -> list[Subscription]:
        """Active subscriptions of `channel` (of every channel when None), oldest first."""
        query = select(SubscriptionRow).where(SubscriptionRow.active.is_(True))
        if channel is not None:
            query = query.where(SubscriptionRow.channel == channel)
        with self._db.tx() as session:
            return [
                subscription_record(r) for r in session.scalars(query.order_by(SubscriptionRow.id))
            ]

    def remove_subscription(self, subscription_id: int, *, channel: str) -> bool:
        """Deactivate it; False when no active subscription has that id *in that channel*
        (one channel cannot remove another's). Its digest history is kept."""
        with self._db.tx(write=True) as session:
            result = session.execute(
                update(SubscriptionRow)
                .where(
                    SubscriptionRow.id == subscription_id,
                    SubscriptionRow.channel == channel,
                    SubscriptionRow.active.is_(True),
                )
                .values(active=False)
            )
            return bool(getattr(result, "rowcount", 0))
