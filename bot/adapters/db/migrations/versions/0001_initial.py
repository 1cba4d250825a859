"""Initial schema: runs, measurements, answered events, subscriptions, digests.

Written by hand (not imported from the models) so this revision keeps meaning the same schema
however `bot.adapters.db.schema` evolves later.

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.Text(), nullable=True),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("thread_ts", sa.Text(), nullable=True),
        sa.Column("parent_ts", sa.Text(), nullable=True),
        sa.Column("user", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("report_md", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("run_key", name="uq_runs_run_key"),
        sa.CheckConstraint(
            "\"trigger\" IN ('cli', 'slash', 'schedule', 'mention')", name="ck_runs_trigger"
        ),
        sa.CheckConstraint(
            "\"status\" IN ('queued', 'running', 'done', 'failed')", name="ck_runs_status"
        ),
    )
    op.create_index("ix_runs_channel_parent_ts", "runs", ["channel", "parent_ts"])

    op.create_table(
        "measurements",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("config", sa.Text(), nullable=True),
        sa.Column("metric", sa.Text(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_measurements"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_measurements_run_id_runs", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_measurements_run_id_model_metric", "measurements", ["run_id", "model", "metric"]
    )

    op.create_table(
        "answered_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_answered_events"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_answered_events_run_id_runs", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_answered_events_created_at", "answered_events", ["created_at"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("quiet_when_nothing_new", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_channel", "subscriptions", ["channel"])

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("run_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("posted_ts", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
        sa.UniqueConstraint("run_key", name="uq_digests_run_key"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_digests_subscription_id_subscriptions",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_digests_run_id_runs", ondelete="SET NULL"
        ),
        sa.CheckConstraint(
            "\"status\" IN ('claimed', 'posted', 'failed')", name="ck_digests_status"
        ),
    )
    op.create_index("ix_digests_subscription_id_archive", "digests", ["subscription_id", "archive"])


def downgrade() -> None:
    op.drop_index("ix_digests_subscription_id_archive", table_name="digests")
    op.drop_table("digests")
    op.drop_index("ix_subscriptions_channel", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix_answered_events_created_at", table_name="answered_events")
    op.drop_table("answered_events")
    op.drop_index("ix_measurements_run_id_model_metric", table_name="measurements")
    op.drop_table("measurements")
    op.drop_index("ix_runs_channel_parent_ts", table_name="runs")
    op.drop_table("runs")
