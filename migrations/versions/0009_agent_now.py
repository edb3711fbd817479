"""Agent states, the present: each rep's latest event (in event order), kept as events arrive.

A screen's full read needs every rep's present state; finding it in ``agent_event`` (millions
of rows a month) costs a scan per read, so the latest one is kept beside the totals, in the
same transaction, and ``rebuild-totals --check`` compares it with the events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_now",
        sa.Column("rep_id", sa.Integer(), sa.ForeignKey("rep.id"), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    # Reps whose events exist before this revision get their latest one.
    op.execute(
        """
        INSERT INTO agent_now (rep_id, source, event_key, state, reason, at)
        SELECT e.rep_id, e.source, e.event_key, e.state, e.reason, e.at FROM agent_event e
        WHERE NOT EXISTS (
            SELECT 1 FROM agent_event l WHERE l.rep_id = e.rep_id AND (
                l.at > e.at OR (l.at = e.at AND (l.source > e.source
                    OR (l.source = e.source AND l.event_key > e.event_key)))))
        """
    )


def downgrade() -> None:
    op.drop_table("agent_now")
