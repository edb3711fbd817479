"""Directions and unresolved agents (issue 15).

* ``hourly_total`` gains ``inbound_calls`` and ``inbound_connects``; dials and connects now count
  outbound calls only, so every stored total is recomputed from the calls (``rebuild-totals``
  agrees). Distinct leads count outbound calls only.
* ``rep.team_id`` may be empty: a rep without a team is an unresolved agent (an identifier the
  phone system sent that no rep has), kept off the TV and outside every target. The reps that
  earlier versions created in the catch-all ``Unassigned`` team for unknown codes become
  unresolved agents, and that team goes when nothing else refers to it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_UNASSIGNED = "Unassigned"

# The rule as of this revision (app.floor.metrics.contribution), frozen in SQL.
_RECOUNT = """
INSERT INTO hourly_total (rep_id, day, hour, dials, connects, talk_seconds, orders, invites,
    revenue, inbound_calls, inbound_connects, leads_dialled, leads_connected)
SELECT rep_id, local_day, local_hour,
    SUM(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END),
    SUM(CASE WHEN direction = 'outbound' AND disposition = 'answered' THEN 1 ELSE 0 END),
    SUM(CASE WHEN direction IN ('outbound', 'inbound') AND disposition = 'answered'
        THEN talk_seconds ELSE 0 END),
    SUM(CASE WHEN outcome = 'sale' THEN 1 ELSE 0 END),
    SUM(CASE WHEN outcome = 'invite' THEN 1 ELSE 0 END),
    SUM(CASE WHEN outcome = 'sale' THEN order_value ELSE 0 END),
    SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END),
    SUM(CASE WHEN direction = 'inbound' AND disposition = 'answered' THEN 1 ELSE 0 END),
    0, 0
FROM call GROUP BY rep_id, local_day, local_hour
"""
_LEADS = """
INSERT INTO lead_day (rep_id, day, customer_key, first_dial_hour, first_connect_hour)
SELECT rep_id, local_day, customer_key, MIN(local_hour),
    MIN(CASE WHEN disposition = 'answered' THEN local_hour END)
FROM call WHERE customer_key IS NOT NULL AND direction = 'outbound'
GROUP BY rep_id, local_day, customer_key
"""
_LEAD_COUNTS = """
UPDATE hourly_total SET
    leads_dialled = (SELECT COUNT(*) FROM lead_day l WHERE l.rep_id = hourly_total.rep_id
        AND l.day = hourly_total.day AND l.first_dial_hour = hourly_total.hour),
    leads_connected = (SELECT COUNT(*) FROM lead_day l WHERE l.rep_id = hourly_total.rep_id
        AND l.day = hourly_total.day AND l.first_connect_hour = hourly_total.hour)
"""


def upgrade() -> None:
    with op.batch_alter_table("hourly_total") as batch:
        for name in ("inbound_calls", "inbound_connects"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("rep") as batch:
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=True)

    conn = op.get_bind()
    team_id = conn.execute(
        sa.text("SELECT id FROM team WHERE name = :n"), {"n": _UNASSIGNED}
    ).scalar()
    if team_id is not None:
        conn.execute(sa.text("UPDATE rep SET team_id = NULL WHERE team_id = :t"), {"t": team_id})
        refs = sum(
            conn.execute(sa.text(sql), {"t": team_id}).scalar() or 0
            for sql in (
                "SELECT COUNT(*) FROM user_team WHERE team_id = :t",
                "SELECT COUNT(*) FROM display_team WHERE team_id = :t",
                "SELECT COUNT(*) FROM report_note WHERE team_id = :t",
                "SELECT COUNT(*) FROM target WHERE scope = 'team' AND scope_id = :t",
            )
        )
        if not refs:
            conn.execute(sa.text("DELETE FROM team WHERE id = :t"), {"t": team_id})

    op.execute("DELETE FROM hourly_total")
    op.execute("DELETE FROM lead_day")
    op.execute(_RECOUNT)
    op.execute(_LEADS)
    op.execute(_LEAD_COUNTS)


def downgrade() -> None:
    # Unresolved agents go back to a catch-all team; totals keep the new meaning of dials.
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT COUNT(*) FROM rep WHERE team_id IS NULL")).scalar():
        conn.execute(
            sa.text(
                "INSERT INTO team (name, created_at) SELECT :n, CURRENT_TIMESTAMP WHERE NOT "
                "EXISTS (SELECT 1 FROM team WHERE name = :n)"
            ),
            {"n": _UNASSIGNED},
        )
        conn.execute(
            sa.text(
                "UPDATE rep SET team_id = (SELECT id FROM team WHERE name = :n) "
                "WHERE team_id IS NULL"
            ),
            {"n": _UNASSIGNED},
        )
    with op.batch_alter_table("rep") as batch:
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("hourly_total") as batch:
        batch.drop_column("inbound_connects")
        batch.drop_column("inbound_calls")
