"""Agent states (issue 18): the events a source reports and the seconds per state and hour.

* ``agent_event``: one row per reported state change, unique on (source, event_key).
* ``state_total``: (rep, local day, local hour, state, reason) -> seconds of the closed
  intervals between a rep's events, maintained by deltas in the same transaction.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("rep.id"), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "event_key", name="uq_agent_event_source_key"),
    )
    op.create_index("ix_agent_event_rep_at", "agent_event", ["rep_id", "at"])
    op.create_table(
        "state_total",
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("rep.id"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("hour", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(12), primary_key=True),
        sa.Column("reason", sa.String(40), primary_key=True),
        sa.Column("seconds", sa.Integer(), nullable=False),
    )
    op.create_index("ix_state_total_day", "state_total", ["day"])


def downgrade() -> None:
    op.drop_index("ix_state_total_day", table_name="state_total")
    op.drop_table("state_total")
    op.drop_index("ix_agent_event_rep_at", table_name="agent_event")
    op.drop_table("agent_event")
