"""Initial schema: roster, calls, hourly totals, lead days, ingest rejects, API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "ingest_reject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("errors", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ingest_reject", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_reject_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("calling_windows", sa.String(length=200), nullable=False),
        sa.Column("workdays", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "rep",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("hired_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["rep.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("rep", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rep_team_id"), ["team_id"], unique=False)

    op.create_table(
        "call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("order_value", sa.BigInteger(), nullable=False),
        sa.Column("customer_key", sa.String(length=64), nullable=True),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["rep.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_call_source_external_id"),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index("ix_call_local_day", ["local_day"], unique=False)
        batch_op.create_index("ix_call_customer_key", ["customer_key"], unique=False)

    op.create_table(
        "hourly_total",
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("dials", sa.Integer(), nullable=False),
        sa.Column("connects", sa.Integer(), nullable=False),
        sa.Column("talk_seconds", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("invites", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("leads_dialled", sa.Integer(), nullable=False),
        sa.Column("leads_connected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["rep.id"],
        ),
        sa.PrimaryKeyConstraint("rep_id", "day", "hour"),
    )
    with op.batch_alter_table("hourly_total", schema=None) as batch_op:
        batch_op.create_index("ix_hourly_total_day", ["day"], unique=False)

    op.create_table(
        "lead_day",
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("customer_key", sa.String(length=64), nullable=False),
        sa.Column("first_dial_hour", sa.Integer(), nullable=False),
        sa.Column("first_connect_hour", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["rep.id"],
        ),
        sa.PrimaryKeyConstraint("rep_id", "day", "customer_key"),
    )
    with op.batch_alter_table("lead_day", schema=None) as batch_op:
        batch_op.create_index("ix_lead_day_customer_key", ["customer_key"], unique=False)
    op.create_table(
        "rep_identifier",
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["rep.id"],
        ),
        sa.PrimaryKeyConstraint("identifier"),
    )
    with op.batch_alter_table("rep_identifier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rep_identifier_rep_id"), ["rep_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rep_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rep_identifier_rep_id"))

    op.drop_table("rep_identifier")
    with op.batch_alter_table("lead_day", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_day_customer_key")
    op.drop_table("lead_day")
    with op.batch_alter_table("hourly_total", schema=None) as batch_op:
        batch_op.drop_index("ix_hourly_total_day")

    op.drop_table("hourly_total")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index("ix_call_customer_key")
        batch_op.drop_index("ix_call_local_day")

    op.drop_table("call")
    with op.batch_alter_table("rep", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rep_team_id"))

    op.drop_table("rep")
    op.drop_table("team")
    op.drop_table("schedule")
    with op.batch_alter_table("ingest_reject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_reject_received_at"))

    op.drop_table("ingest_reject")
    op.drop_table("api_token")
