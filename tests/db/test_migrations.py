"""The migrations are the schema: applying them yields exactly what the models declare."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401 (registers the tables)
from app.migrate import downgrade, pending, upgrade


def test_migrated_database_matches_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert pending(engine) == []


def test_migration_seeds_the_floor_default_targets(engine):
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT metric, period, scope, value FROM target ORDER BY metric"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("dials", "day", "floor", 300),
        ("invites", "week", "floor", 5),
        ("talk_seconds", "day", "floor", 13000),
    ]


def test_0006_recounts_dials_as_outbound_and_makes_unassigned_reps_unresolved(engine):
    """A floor stored before directions counted: every call was a dial, unknown codes sat in the
    Unassigned team. After 0006: inbound calls are inbound, totals agree with a recount, and the
    Unassigned reps are unresolved agents off the board."""
    from app.ingest import rebuild

    downgrade(engine, "0005")
    now = "2026-11-26 02:00:00"
    with engine.begin() as conn:
        run = lambda sql, **kw: conn.execute(sa.text(sql), kw)  # noqa: E731
        run("INSERT INTO team (id, name, created_at) VALUES (1, '一组', :t)", t=now)
        run("INSERT INTO team (id, name, created_at) VALUES (2, 'Unassigned', :t)", t=now)
        for rep_id, code, team in ((1, "wang", 1), (2, "8011", 2)):
            run(
                "INSERT INTO rep (id, code, name, team_id, active, created_at)"
                " VALUES (:i, :c, :c, :t, :a, :n)",
                i=rep_id,
                c=code,
                t=team,
                a=True,
                n=now,
            )
            run("INSERT INTO rep_identifier (identifier, rep_id) VALUES (:c, :i)", c=code, i=rep_id)
        calls = [  # rep, direction, disposition, talk, customer key
            (1, "outbound", "answered", 60, "k1"),
            (1, "inbound", "answered", 45, "k2"),
            (1, "outbound", "no_answer", 0, "k3"),
            (2, "outbound", "answered", 30, "k4"),
        ]
        for n, (rep_id, direction, disp, talk, key) in enumerate(calls):
            run(
                "INSERT INTO call (source, external_id, rep_id, direction, started_at,"
                " talk_seconds, disposition, outcome, order_value, customer_key, local_day,"
                " local_hour,"
                " received_at, updated_at) VALUES ('pbx', :x, :r, :d, :t, :s, :p, 'none', 0, :k,"
                " '2026-11-26', 10, :t, :t)",
                x=f"c{n}",
                r=rep_id,
                d=direction,
                t=now,
                s=talk,
                p=disp,
                k=key,
            )
        # What the old rule stored: four dials, three connects.
        run(
            "INSERT INTO hourly_total (rep_id, day, hour, dials, connects, talk_seconds, orders,"
            " invites, revenue, leads_dialled, leads_connected)"
            " VALUES (1, '2026-11-26', 10, 3, 2, 105, 0, 0, 0, 3, 2),"
            " (2, '2026-11-26', 10, 1, 1, 30, 0, 0, 0, 1, 1)"
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert rebuild.check(conn) == []
        row = conn.execute(
            sa.text(
                "SELECT dials, connects, talk_seconds, inbound_calls, inbound_connects,"
                " leads_dialled, leads_connected FROM hourly_total WHERE rep_id = 1"
            )
        ).one()
        assert tuple(row) == (2, 1, 105, 1, 1, 2, 1)
        assert conn.execute(sa.text("SELECT team_id FROM rep WHERE id = 2")).scalar() is None
        teams = conn.execute(sa.text("SELECT name FROM team")).scalars().all()
        assert teams == ["一组"]


def test_0007_counts_the_orders_closed_on_outbound_connects(engine):
    """Sales stored before 0007: after it, each cell's connect_orders is its outbound answered
    sales (the success rate's numerator) and a recount agrees; the downgrade drops it again."""
    from app.ingest import rebuild

    downgrade(engine, "0006")
    now = "2026-11-26 02:00:00"
    with engine.begin() as conn:
        run = lambda sql, **kw: conn.execute(sa.text(sql), kw)  # noqa: E731
        run("INSERT INTO team (id, name, created_at) VALUES (1, '一组', :t)", t=now)
        run(
            "INSERT INTO rep (id, code, name, team_id, active, created_at)"
            " VALUES (1, 'wang', 'wang', 1, :a, :n)",
            a=True,
            n=now,
        )
        for n, (direction, disp) in enumerate(
            [("outbound", "answered"), ("outbound", "answered"), ("inbound", "answered")]
        ):
            run(
                "INSERT INTO call (source, external_id, rep_id, direction, started_at,"
                " talk_seconds, disposition, outcome, order_value, customer_key, local_day,"
                " local_hour, received_at, updated_at) VALUES ('pbx', :x, 1, :d, :t, 60, :p,"
                " :o, 100, NULL, '2026-11-26', 10, :t, :t)",
                x=f"c{n}",
                d=direction,
                p=disp,
                o="none" if n == 1 else "sale",
                t=now,
            )
        run(
            "INSERT INTO hourly_total (rep_id, day, hour, dials, connects, talk_seconds, orders,"
            " invites, revenue, inbound_calls, inbound_connects, leads_dialled, leads_connected)"
            " VALUES (1, '2026-11-26', 10, 2, 2, 180, 2, 0, 200, 1, 1, 0, 0)"
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT connect_orders FROM hourly_total")).scalar() == 1
        assert rebuild.check(conn) == []
    downgrade(engine, "0006")
    with engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("hourly_total")}
    assert "connect_orders" not in cols
    upgrade(engine)
