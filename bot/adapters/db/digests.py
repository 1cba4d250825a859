"""Digests: one archive digested for one subscription, claimed exactly once."""

from __future__ import annotations

from sqlalchemy import select

from bot.adapters.db.convert import digest_record, get_or_raise, new_run_values, run_record
from bot.adapters.db.database import Database, insert_if_absent
from bot.adapters.db.runs import RUNS
from bot.adapters.db.schema import DigestRow, RunRow, SubscriptionRow, utcnow
from bot.core.records import FINISHED_DIGEST_STATUSES, Digest, Run


def digest_run_key(subscription_id: int, archive: str) -> str:
    return f"digest:{subscription_id}:{archive}"


class DigestRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def digested_archives(self, subscription_id: int) -> set[str]:
        """Archives already claimed for this subscription, whatever became of the digest."""
        with self._db.tx() as session:
            return set(
                session.scalars(
                    select(DigestRow.archive).where(DigestRow.subscription_id == subscription_id)
                )
            )

    def claim_digest(self, subscription_id: int, archive: str, *, task_id: int | None = None) -> Digest | None:
        """Claim `archive` for this subscription: creates its run (trigger 'schedule', key
        ``digest:<subscription>:<archive>``) and the digest, atomically, for the fire ``task_id``.
        None when any process claimed it before. Raises `UnknownRecord` for an unknown subscription."""
        if not archive:
            raise ValueError("archive must not be empty")
        key = digest_run_key(subscription_id, archive)
        with self._db.tx(write=True) as session:
            subscription = get_or_raise(session, SubscriptionRow, subscription_id)
            values = new_run_values(archive, "schedule", subscription.channel, None, None, None, key)
            run = insert_if_absent(session, RUNS, values, key=["run_key"], returning=RUNS.c.id)
            if run is None:
                return None
            digest = DigestRow(subscription_id=subscription_id, archive=archive, run_id=run[0], run_key=key,
                               status="claimed", task_id=task_id)
            session.add(digest)
            session.flush()
            return digest_record(digest)

    def finish_digest(
        self,
        digest_id: int,
        *,
        status: str,
        posted_ts: str | None = None,
        error: str | None = None,
    ) -> Digest:
        """Close a digest as 'posted' (with the Slack ts of its message) or 'failed'."""
        if status not in FINISHED_DIGEST_STATUSES:
            raise ValueError(f"a finished digest's status is one of {FINISHED_DIGEST_STATUSES}")
        with self._db.tx(write=True) as session:
            row = get_or_raise(session, DigestRow, digest_id)
            row.status, row.posted_ts, row.error = status, posted_ts, error
            row.finished_at = utcnow()
            return digest_record(row)

    def digest_for_task(self, task_id: int) -> Digest | None:
        """The digest a fire (task) claimed, if it got that far: a take-over resumes it."""
        with self._db.tx() as session:
            row = session.scalars(select(DigestRow).where(DigestRow.task_id == task_id)
                                  .order_by(DigestRow.id.desc())).first()
            return None if row is None else digest_record(row)

    def digest_for_run(self, run_id: int) -> Digest | None:
        with self._db.tx() as session:
            row = session.scalars(select(DigestRow).where(DigestRow.run_id == run_id)).first()
            return None if row is None else digest_record(row)

    def previous_digest_runs(self, subscription_id: int, *, limit: int = 10) -> list[Run]:
        """Completed ('done') runs of this subscription's posted digests, newest first: the
        history a new digest is compared against."""
        if limit < 1:
            return []
        with self._db.tx() as session:
            rows = session.scalars(
                select(RunRow)
                .join(DigestRow, DigestRow.run_id == RunRow.id)
                .where(
                    DigestRow.subscription_id == subscription_id,
                    DigestRow.status == "posted",
                    RunRow.status == "done",
                )
                .order_by(DigestRow.created_at.desc(), DigestRow.id.desc())
                .limit(limit)
            ).all()
            return [run_record(row) for row in rows]
