"""The digest scheduler's job table (APScheduler 3's ``apscheduler_jobs``), owned by the migrations.

APScheduler's `SQLAlchemyJobStore` would create it itself at ``start()``; two replicas starting
together on an empty PostgreSQL database then race to create it and one of them crashes. Here it is
created once, under the migration lock, with exactly the columns APScheduler declares (a test
compares them), and the store (`bot.adapters.scheduler.MigratedJobStore`) never creates anything.
Databases written by earlier versions already hold the table, created by APScheduler: it is kept.

Revision ID: 0003_apscheduler_jobs
Revises: 0002_measurement_context
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_apscheduler_jobs"
down_revision: str | Sequence[str] | None = "0002_measurement_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "apscheduler_jobs"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):  # made by APScheduler before this revision
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.Unicode(191), nullable=False),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="apscheduler_jobs_pkey"),  # PostgreSQL's default name
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", TABLE, ["next_run_time"])


def downgrade() -> None:
    op.drop_index("ix_apscheduler_jobs_next_run_time", table_name=TABLE)
    op.drop_table(TABLE)
