"""How a TV display link shows the board: size, the views it rotates through (or the one it is
pinned to), how long each stays, and the leaderboards' metric. Null on the links made before:
they show the live board at its normal size, as they did.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = (
    ("size", sa.String(10)),
    ("views", sa.String(100)),
    ("rotate_seconds", sa.Integer()),
    ("pin", sa.String(10)),
    ("metric", sa.String(20)),
)


def upgrade() -> None:
    # batch: SQLite alters a table by copying it; PostgreSQL gets plain ALTER TABLEs.
    with op.batch_alter_table("display_link") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("display_link") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
