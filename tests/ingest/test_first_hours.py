"""A lead's first hours merge by one rule in Python (the per-record path) and in SQL (the bulk
path): the earlier of each, a missing connect hour being "not yet"."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from app.floor.leads import earlier_hour, merge_first_hours
from app.ingest.call_sql import earlier_hour as earlier_hour_sql

HOURS = (None, 9, 10)


def _hour(h: int | None) -> sa.ColumnElement:
    return sa.cast(sa.null() if h is None else sa.literal(h), sa.Integer)


def test_the_earlier_hour_is_the_same_in_sql_as_in_python(engine):
    pairs = list(itertools.product(HOURS, HOURS))
    with engine.connect() as conn:
        got = [
            conn.execute(sa.select(earlier_hour_sql(_hour(a), _hour(b)))).scalar_one()
            for a, b in pairs
        ]
    assert got == [earlier_hour(a, b) for a, b in pairs]


def test_merged_first_hours_take_the_earlier_dial_and_the_earlier_connect():
    assert merge_first_hours((10, None), (9, None)) == (9, None)
    assert merge_first_hours((9, None), (10, 10)) == (9, 10)
    assert merge_first_hours((9, 11), (10, 10)) == (9, 10)
