"""Alerts that close themselves: ``alert.resolved_at``.

A behind_pace alert is resolved when its rep recovers (the recovered alert is raised resolved
too): neither asks a lead to acknowledge it, and only open alerts are counted as open.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("resolved_at")
