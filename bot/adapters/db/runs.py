"""Runs (one analysis, any trigger) and their measurements."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select, update

from bot.adapters.db.convert import get_or_raise, new_run_row, new_run_values, run_record
from bot.adapters.db.database import Database, insert_if_absent, require_aware
from bot.adapters.db.frames import json_document, measurement_frame, measurement_rows
from bot.adapters.db.schema import DigestRow, MeasurementRow, RunRow, TaskRow, utcnow
from bot.core.records import FINISHED_RUN_STATUSES, Run
from bot.core.types import MEASUREMENT_COLUMNS

log = logging.getLogger(__name__)

_MEASUREMENTS = MeasurementRow.metadata.tables[MeasurementRow.__tablename__]
# Measurement rows written per transaction by `RunRepository.finish_run` (~0.1 s of SQLite's write lock).
MEASUREMENT_BATCH_ROWS = 10_000
RUNS = RunRow.metadata.tables[RunRow.__tablename__]


class RunRepository:
    def __init__(self, db: Database, *, max_measurements: int | None = None) -> None:
        self._db = db
        self._max_measurements = max_measurements

    def create_run(
        self,
        *,
        archive: str,
        trigger: str,
        channel: str | None = None,
        thread_ts: str | None = None,
        parent_ts: str | None = None,
        user: str | None = None,
    ) -> Run:
        """Record a new run (status 'queued') with no run key."""
        row = new_run_row(archive, trigger, channel, thread_ts, parent_ts, user, run_key=None)
        with self._db.tx(write=True) as session:
            session.add(row)
            session.flush()
            return run_record(row)

    def claim_run_key(
        self,
        key: str,
        *,
        archive: str,
        trigger: str,
        channel: str | None = None,
        thread_ts: str | None = None,
        parent_ts: str | None = None,
        user: str | None = None,
    ) -> Run | None:
        """Create the run named `key`, or return None when any process already created it."""
        if not key:
            raise ValueError("run key must not be empty")
        values = new_run_values(archive, trigger, channel, thread_ts, parent_ts, user, run_key=key)
        with self._db.tx(write=True) as session:
            inserted = insert_if_absent(session, RUNS, values, key=["run_key"], returning=RUNS.c.id)
            return None if inserted is None else run_record(get_or_raise(session, RunRow, inserted[0]))

    def start_run(self, run_id: int) -> Run:
        """Mark a queued run as running."""
        with self._db.tx(write=True) as session:
            row = get_or_raise(session, RunRow, run_id)
            row.status = "running"
            return run_record(row)

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        error: str | None = None,
        facts: Any = None,
        timings: Any = None,
        summary: Any = None,
        report_md: str | None = None,
        measurements: pd.DataFrame | None = None,
    ) -> Run:
        """Close a run as 'done' or 'failed' with its results: its measurements first, in short
        transactions, then its status and results in one more.

        `facts`, `timings` and `summary` are stored as JSON (non-finite floats become null).
        `measurements`, when given, replaces any stored for this run (its index is not kept); at
        most the store's ``max_measurements`` rows are kept (the first ones; ingest already holds a
        job to that budget, so this bounds the database however a caller got its rows).
        Raises ValueError for malformed input, `UnknownRecord` for an unknown run.
        """
        if status not in FINISHED_RUN_STATUSES:
            raise ValueError(f"a finished run's status is one of {FINISHED_RUN_STATUSES}")
        documents = [json_document(facts), json_document(timings), json_document(summary)]
        limit = self._max_measurements
        if measurements is not None and limit is not None and len(measurements) > limit:
            log.warning("run %d: storing the first %d of its %d measurements (MAX_JOB_MEASUREMENTS)",
                        run_id, limit, len(measurements))
            measurements = measurements.iloc[:limit]
        rows = None if measurements is None else measurement_rows(measurements, run_id=run_id)
        if rows is not None:
            # In short transactions of MEASUREMENT_BATCH_ROWS (SQLite has one writer: 300,000 rows in
            # one would hold its lock for seconds, and slash commands meanwhile find it "down"). The
            # run is marked finished only after the last batch: a crash midway leaves it unfinished,
            # and finishing it again replaces what was written.
            with self._db.tx(write=True) as session:
                get_or_raise(session, RunRow, run_id)
                session.execute(delete(MeasurementRow).where(MeasurementRow.run_id == run_id))
            for start in range(0, len(rows), MEASUREMENT_BATCH_ROWS):
                with self._db.tx(write=True) as session:
                    # Core executemany: one prepared statement for all rows (fast on SQLite).
                    session.execute(insert(_MEASUREMENTS), rows[start:start + MEASUREMENT_BATCH_ROWS])
        with self._db.tx(write=True) as session:
            row = get_or_raise(session, RunRow, run_id)
            row.status, row.error, row.report_md = status, error, report_md
            row.facts, row.timings, row.summary = documents
            row.finished_at = utcnow()
            return run_record(row)

    def set_run_thread(self, run_id: int, *, channel: str, parent_ts: str) -> Run:
        """Remember the bot's parent message of the run's report thread."""
        with self._db.tx(write=True) as session:
            row = get_or_raise(session, RunRow, run_id)
            row.channel, row.parent_ts = channel, parent_ts
            return run_record(row)

    def get_run(self, run_id: int) -> Run | None:
        with self._db.tx() as session:
            row = session.get(RunRow, run_id)
            return None if row is None else run_record(row)

    def run_for_thread(self, *, channel: str, thread_ts: str) -> Run | None:
        """The newest run whose report thread is (`channel`, `thread_ts`), whatever its status."""
        with self._db.tx() as session:
            row = session.scalars(
                select(RunRow)
                .where(RunRow.channel == channel, RunRow.parent_ts == thread_ts)
                .order_by(RunRow.created_at.desc(), RunRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else run_record(row)

    def load_measurements(self, run_id: int) -> pd.DataFrame:
        """The run's tidy measurements, in stored order, shaped like `empty_measurements()`."""
        columns = [_MEASUREMENTS.c[name] for name in MEASUREMENT_COLUMNS]
        with self._db.tx() as session:
            result = session.execute(
                select(*columns)
                .where(_MEASUREMENTS.c.run_id == run_id)
                .order_by(_MEASUREMENTS.c.id)
            )
            return measurement_frame(tuple(row) for row in result)

    def fail_stale_runs(self, *, before: datetime, error: str) -> list[Run]:
        """Mark runs still queued/running that began before `before` as failed (and their claimed
        digests), e.g. at start-up after a crash. Returns them so the caller can report each.

        A run whose task (or whose digest's fire) is still queued or running is not stale: the
        queue resumes or gives it up (`bot.flows.tasks`). This sweeps what no task covers."""
        require_aware(before)
        live = ("queued", "running")
        covered_by_task = select(TaskRow.id).where(TaskRow.run_id == RunRow.id, TaskRow.state.in_(live))
        covered_by_fire = (select(DigestRow.id).join(TaskRow, TaskRow.id == DigestRow.task_id)
                           .where(DigestRow.run_id == RunRow.id, TaskRow.state.in_(live)))
        with self._db.tx(write=True) as session:
            rows = session.scalars(
                select(RunRow)
                .where(RunRow.status.in_(live), RunRow.created_at < before,
                       ~covered_by_task.exists(), ~covered_by_fire.exists())
                .order_by(RunRow.id)
            ).all()
            now = utcnow()
            for row in rows:
                row.status, row.error, row.finished_at = "failed", error, now
            if rows:
                session.execute(
                    update(DigestRow)
                    .where(
                        DigestRow.run_id.in_([row.id for row in rows]),
                        DigestRow.status == "claimed",
                    )
                    .values(status="failed", error=error, finished_at=now)
                )
            return [run_record(row) for row in rows]
