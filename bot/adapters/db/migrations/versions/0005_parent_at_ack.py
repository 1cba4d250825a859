"""The Slack message posted at the ack, before a worker is free.

``tasks.ack_ts``: the message an analysis shows itself in from the moment it is acknowledged
("queued, position 3" or "starting…"); the worker that claims the task carries on in it.
``tasks.ack_queued``: that message shows a queue position (the worker says it started).
``tasks.ack_until``: while the post is under way the task is not claimed (until then at most).

Revision ID: 0005_parent_at_ack
Revises: 0004_tasks_and_replicas
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_parent_at_ack"
down_revision: str | Sequence[str] | None = "0004_tasks_and_replicas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("ack_ts", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ack_queued", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("ack_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("ack_until")
        batch.drop_column("ack_queued")
        batch.drop_column("ack_ts")
