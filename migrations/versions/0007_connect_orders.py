"""The success rate's own numerator, and totals that cannot overflow silently (issue 16).

* ``hourly_total`` gains ``connect_orders``: the outbound connects that closed an order. The
  success rate becomes connect_orders ÷ connects (at most 100 %); it was orders ÷ connected
  leads, which sales on inbound calls or calls without a customer pushed past 100 %.
* A CHECK keeps revenue and talk time below 2**63: SQLite would otherwise turn an overflowing
  sum into a REAL without an error.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The rule as of this revision (app.floor.metrics.contribution), frozen in SQL.
_RECOUNT = """
UPDATE hourly_total SET connect_orders = (
    SELECT COUNT(*) FROM call c WHERE c.rep_id = hourly_total.rep_id
        AND c.local_day = hourly_total.day AND c.local_hour = hourly_total.hour
        AND c.outcome = 'sale' AND c.direction = 'outbound' AND c.disposition = 'answered')
"""
_FIT = "revenue <= 9000000000000000000 AND talk_seconds <= 9000000000000000000"


def upgrade() -> None:
    with op.batch_alter_table("hourly_total") as batch:
        batch.add_column(
            sa.Column("connect_orders", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_check_constraint("ck_hourly_total_sums_fit", _FIT)
    op.execute(_RECOUNT)


def downgrade() -> None:
    with op.batch_alter_table("hourly_total") as batch:
        batch.drop_constraint("ck_hourly_total_sums_fit", type_="check")
        batch.drop_column("connect_orders")
