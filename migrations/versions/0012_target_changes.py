"""Target changes: who set which target, to what, and when (append-only).

A target rule is replaced when the same scope and day is set again; the log keeps every change,
for the morning meeting and for whoever asks why a rep's target moved.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("metric", sa.String(20), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_target_change_set_at", "target_change", ["set_at"])


def downgrade() -> None:
    op.drop_index("ix_target_change_set_at", table_name="target_change")
    op.drop_table("target_change")
