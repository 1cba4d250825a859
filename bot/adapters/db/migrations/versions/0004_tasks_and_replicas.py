"""The durable work queue (tasks, with leases) and the replicas' heartbeats.

- ``tasks``: analyses, comparisons, thread answers and digest fires. A request is inserted here before Slack
  gets its acknowledgement; any replica claims it with a lease it keeps alive by heartbeat, and
  another replica takes it over when the lease runs out (its owner died).
- ``replicas``: one row per bot process, refreshed by its heartbeat (capacity, /health, status).
- ``digests.task_id``: the fire that claimed a digest, so a take-over resumes that digest instead
  of finding the archive "already digested".

Revision ID: 0004_tasks_and_replicas
Revises: 0003_apscheduler_jobs
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_tasks_and_replicas"
down_revision: str | Sequence[str] | None = "0003_apscheduler_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("message_ts", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("key", name="uq_tasks_key"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_tasks_run_id_runs", ondelete="SET NULL"),
        sa.CheckConstraint("\"kind\" IN ('analysis', 'compare', 'answer', 'digest')", name="ck_tasks_kind"),
        sa.CheckConstraint("\"state\" IN ('queued', 'running', 'done', 'failed')", name="ck_tasks_state"),
    )
    op.create_index("ix_tasks_state_kind_id", "tasks", ["state", "kind", "id"])
    op.create_index("ix_tasks_owner", "tasks", ["owner"])

    op.create_table(
        "replicas",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("heartbeat_at", _TS, nullable=False),
        sa.Column("stopped_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_replicas"),
    )
    op.create_index("ix_replicas_heartbeat_at", "replicas", ["heartbeat_at"])

    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_digests_task_id_tasks", "tasks", ["task_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_constraint("fk_digests_task_id_tasks", type_="foreignkey")
        batch.drop_column("task_id")
    op.drop_index("ix_replicas_heartbeat_at", table_name="replicas")
    op.drop_table("replicas")
    op.drop_index("ix_tasks_owner", table_name="tasks")
    op.drop_index("ix_tasks_state_kind_id", table_name="tasks")
    op.drop_table("tasks")
