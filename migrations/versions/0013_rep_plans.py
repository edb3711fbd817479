"""The evening plan per rep: the problem named at the evening meeting (员工问题), the plan to fix
it (改进计划), and whether it was done, marked the next day.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rep_plan",
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("rep.id"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("problem", sa.String(1000), nullable=False),
        sa.Column("plan", sa.String(1000), nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=True),
        sa.Column("followed_by", sa.String(100), nullable=True),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_rep_plan_day", "rep_plan", ["day"])


def downgrade() -> None:
    op.drop_index("ix_rep_plan_day", table_name="rep_plan")
    op.drop_table("rep_plan")
