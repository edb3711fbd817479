"""Attendance: a rep's day when it is not an ordinary working day (leave, half day, sick,
absent), set by an admin or the rep's lead; no row means present.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("rep.id"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("half", sa.String(2), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attendance_day", "attendance", ["day"])


def downgrade() -> None:
    op.drop_index("ix_attendance_day", table_name="attendance")
    op.drop_table("attendance")
