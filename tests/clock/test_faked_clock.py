"""``make test-clock`` runs the clock-sensitive tests under libfaketime; this checks the clock
really was moved (a missing or broken ``faketime`` would otherwise pass on the real time)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

FAKETIME = os.environ.get("FAKETIME", "")

pytestmark = pytest.mark.skipif(
    not FAKETIME.startswith("@"), reason="runs under `make test-clock` (libfaketime)"
)


def test_the_clock_starts_where_make_test_clock_put_it():
    start = datetime.strptime(FAKETIME[1:], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    # The subset takes a few minutes; the clock runs on from its start.
    assert start <= now < start + timedelta(minutes=30), (FAKETIME, now)
