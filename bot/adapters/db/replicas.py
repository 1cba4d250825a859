"""The replicas: one row per bot process, kept fresh by its heartbeat.

The others read it to know the fleet's capacity (queue positions), and `/health` and
``/chimera status`` report it. A replica's *work* is protected by the leases on its tasks
(`bot.adapters.db.tasks`), not by this row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.adapters.db.convert import replica_record
from bot.adapters.db.database import Database, require_aware, upsert
from bot.adapters.db.schema import ReplicaRow, utcnow
from bot.core.records import Replica

REPLICAS = ReplicaRow.metadata.tables[ReplicaRow.__tablename__]


class ReplicaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def beat(self, replica_id: str, *, host: str, pid: int, workers: int) -> None:
        """Say this replica is alive (registering it the first time)."""
        now = utcnow()
        with self._db.tx(write=True) as session:
            upsert(session, REPLICAS, {"id": replica_id, "host": host, "pid": pid, "workers": workers,
                                       "started_at": now, "heartbeat_at": now, "stopped_at": None},
                   key=["id"], update={"heartbeat_at": now, "workers": workers, "stopped_at": None})

    def stop(self, replica_id: str) -> None:
        """This replica stopped on purpose (its work was handed back to the queue)."""
        with self._db.tx(write=True) as session:
            session.execute(update(ReplicaRow).where(ReplicaRow.id == replica_id).values(stopped_at=utcnow()))

    def live(self, *, within_s: float) -> list[Replica]:
        """Replicas that are not stopped and beat within the last ``within_s`` seconds."""
        since = utcnow() - timedelta(seconds=within_s)
        with self._db.tx() as session:
            rows = session.scalars(select(ReplicaRow).where(ReplicaRow.stopped_at.is_(None),
                                                            ReplicaRow.heartbeat_at >= since)
                                   .order_by(ReplicaRow.started_at, ReplicaRow.id))
            return [replica_record(r) for r in rows]

    def prune(self, *, before: datetime) -> int:
        """Forget replicas whose last heartbeat is older than ``before``."""
        require_aware(before)
        with self._db.tx(write=True) as session:
            result = session.execute(delete(ReplicaRow).where(ReplicaRow.heartbeat_at < before))
            return int(getattr(result, "rowcount", 0) or 0)
