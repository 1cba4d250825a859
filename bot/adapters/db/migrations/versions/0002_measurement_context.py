"""Measurements keep their context: ``context``, ``identifiers``, ``statistic`` and ``n`` columns.

``context`` and ``identifiers`` hold canonical JSON objects (see `bot.core.context`), ``statistic``
the tool's statistic of an aggregate, ``n`` how many values the tool computed it from. All nullable:
rows stored before this revision keep NULL there and are read back as '{}', '{}', '' and NaN.
Batch mode on SQLite (the Alembic environment turns it on), plain ALTER TABLE on PostgreSQL.

Revision ID: 0002_measurement_context
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002_measurement_context"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("context", sa.Text()),
    ("identifiers", sa.Text()),
    ("statistic", sa.Text()),
    ("n", sa.Double()),
)


def upgrade() -> None:
    with op.batch_alter_table("measurements") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measurements") as batch:
        for name, _type in reversed(_COLUMNS):
            batch.drop_column(name)
