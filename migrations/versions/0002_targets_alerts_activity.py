"""Targets (seeded with the floor's defaults), alerts, and each rep's last dial per day.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The seed's numbers: 300 dials and 13,000 talk seconds a day, 5 valid invites a week.
# Orders and revenue stay unset until the floor manager sets them.
FLOOR_DEFAULTS = (("dials", "day", 300), ("talk_seconds", "day", 13_000), ("invites", "week", 5))
SINCE = date(2000, 1, 1)


def upgrade() -> None:
    target = op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "metric", "period", "scope", "scope_id", "valid_from", name="uq_target_rule"
        ),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["rep_id"], ["rep.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_day_rep", "alert", ["day", "rep_id"])
    op.create_table(
        "rep_activity",
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_dial_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rep_id"], ["rep.id"]),
        sa.PrimaryKeyConstraint("rep_id", "day"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        target,
        [
            {
                "metric": metric,
                "period": period,
                "scope": "floor",
                "scope_id": 0,
                "value": value,
                "valid_from": SINCE,
                "updated_at": now,
            }
            for metric, period, value in FLOOR_DEFAULTS
        ],
    )


def downgrade() -> None:
    op.drop_table("rep_activity")
    op.drop_index("ix_alert_day_rep", table_name="alert")
    op.drop_table("alert")
    op.drop_table("target")
