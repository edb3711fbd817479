"""The demo's set-up and simulator against the real app (in-process ASGI), on each engine.

Time is passed in, so these run a floor day in well under a second of wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

from app.config import Settings
from app.demo.floor import Call, backfill_floor, build_floor, floor_day
from app.demo.runner import DemoTokens, Simulator, prepare_database, use_demo_database
from app.main import create_app
from app.models import ApiToken, Rep, Team
from app.models import Call as CallRow
from tests.conftest import SQLITE_ONLY

DAY = date(2026, 11, 26)
SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 7


def at(hh: int, mm: int = 0) -> datetime:
    return datetime.combine(DAY, time(hh, mm), tzinfo=SHANGHAI)


def with_simulator(
    settings: Settings, tokens: DemoTokens, body: Callable[[Simulator], Awaitable[None]]
) -> None:
    """Run ``body`` with a simulator posting to the app over in-process HTTP."""
    app = create_app(settings)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://demo.test",
            headers={"Authorization": f"Bearer {tokens.ingest}"},
        ) as client:
            sim = Simulator(
                client, settings, build_floor(SEED), seed=SEED, speed=100, read_token=tokens.read
            )
            await body(sim)

    try:
        asyncio.run(main())
    finally:
        app.state.writer.stop()
        app.state.engine.dispose()


def day_totals(settings: Settings, tokens: DemoTokens) -> dict[str, int]:
    app = create_app(settings)

    async def main() -> dict[str, int]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://demo.test"
        ) as client:
            resp = await client.get(
                "/api/v1/floor/snapshot",
                params={"day": DAY.isoformat()},
                headers={"Authorization": f"Bearer {tokens.read}"},
            )
            assert resp.status_code == 200, resp.text
            return resp.json()["floor"]["totals"]

    try:
        return asyncio.run(main())
    finally:
        app.state.engine.dispose()


def test_demo_database_is_its_own_file_unless_a_url_is_given(tmp_path):
    s = Settings(data_dir=tmp_path / "var", _env_file=None)
    use_demo_database(s)
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'var' / 'demo.db').as_posix()}"
    given = Settings(data_dir=tmp_path, database_url="sqlite:///elsewhere.db", _env_file=None)
    use_demo_database(given)
    assert given.resolved_database_url == "sqlite:///elsewhere.db"


def test_setup_is_idempotent_and_each_run_revokes_the_last_tokens(settings, engine):
    floor = build_floor(SEED)
    first = prepare_database(settings, floor, DAY)
    second = prepare_database(settings, floor, DAY)
    assert first != second
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Rep)).scalar_one() == 24
        assert conn.execute(sa.select(sa.func.count()).select_from(Team)).scalar_one() == 3
        hires = conn.execute(sa.select(Rep.hired_on).where(Rep.hired_on == DAY - timedelta(2)))
        assert len(hires.all()) == 3
        live = conn.execute(
            sa.select(ApiToken.name, ApiToken.scope, ApiToken.source).where(
                ApiToken.revoked_at.is_(None)
            )
        ).all()
    assert sorted(live) == [
        ("demo-admin", "admin", None),
        ("demo-read", "read", None),
        ("demo-simulator", "ingest", "demo"),
    ]


def test_simulated_day_lands_in_the_totals_wrap_ups_included_and_replays_as_duplicates(
    settings,
):
    tokens = prepare_database(settings, build_floor(SEED), DAY)
    calls: list[Call] = []
    seen: dict[str, Any] = {}

    async def first_run(sim: Simulator) -> None:
        records, counts = await sim.backfill(at(10, 40))
        seen["backfill"] = (records, counts)
        since = at(10, 40)
        for _ in range(24):  # two minutes of 5 s ticks at 100x: ~3,000 calls, a dozen sales
            now = since + timedelta(seconds=5)
            calls.extend(await sim.tick(since, now))
            since = now
        seen["pending"] = len(sim.pending_wrap_ups)
        seen["before_wrap_up"] = await sim.floor_totals()
        await sim.send_wrap_ups(due_by=float("inf"))

    with_simulator(settings, tokens, first_run)
    backfilled = backfill_floor(
        floor_day(build_floor(SEED), DAY, SHANGHAI, settings.calling_windows, SEED), at(10, 40)
    )
    records, counts = seen["backfill"]
    assert records == len(backfilled) > 1000
    assert counts == {"created": records, "updated": 0, "duplicate": 0, "stale": 0, "rejected": 0}
    everything = backfilled + calls
    sales = [c for c in everything if c.outcome == "sale"]
    assert sum(c.outcome == "sale" for c in calls) >= 4 and seen["pending"] >= 1
    totals = day_totals(settings, tokens)
    assert totals["dials"] == len(everything)
    assert totals["connects"] == sum(c.disposition == "answered" for c in everything)
    assert totals["talk_seconds"] == sum(c.talk_seconds for c in everything)
    # Every sale counts once, whether it came whole or as a CDR plus a later CRM wrap-up.
    assert totals["orders"] == len(sales)
    assert totals["revenue"] == sum(c.order_value for c in sales)
    assert seen["before_wrap_up"]["orders"] == len(sales) - seen["pending"]

    async def rerun(sim: Simulator) -> None:
        seen["rerun"] = await sim.backfill(at(10, 40))

    with_simulator(settings, tokens, rerun)
    assert seen["rerun"] == (records, {"created": 0, "updated": 0, "duplicate": records,
                                       "stale": 0, "rejected": 0})  # fmt: skip
    assert day_totals(settings, tokens) == totals


@SQLITE_ONLY  # it posts through the API
def test_history_posts_whole_earlier_working_days_for_the_reports(settings, engine):
    """Thursday 26 Nov: last week's Monday to Wednesday this week, weekends skipped, each day
    whole; a new hire (hired two days ago) has no calls before their first day."""
    tokens = prepare_database(settings, build_floor(SEED), DAY)
    seen: dict[str, Any] = {}

    async def run(sim: Simulator) -> None:
        seen["history"] = await sim.history(at(10, 40), weeks=1)

    with_simulator(settings, tokens, run)
    records, days = seen["history"]
    assert days == [date(2026, 11, d) for d in (16, 17, 18, 19, 20, 23, 24, 25)]
    with engine.connect() as conn:
        per_day = dict(
            conn.execute(
                sa.select(CallRow.local_day, sa.func.count()).group_by(CallRow.local_day)
            ).all()
        )
        hires = set(
            conn.execute(sa.select(Rep.id).where(Rep.hired_on == DAY - timedelta(2))).scalars()
        )
        first_calls = dict(
            conn.execute(
                sa.select(CallRow.rep_id, sa.func.min(CallRow.local_day)).group_by(CallRow.rep_id)
            ).all()
        )
    assert sorted(per_day) == days and sum(per_day.values()) == records
    whole_day = backfill_floor(
        floor_day(build_floor(SEED), date(2026, 11, 17), SHANGHAI, settings.calling_windows, SEED),
        datetime.combine(date(2026, 11, 18), time(), tzinfo=SHANGHAI),
    )
    new_hire_codes = {p.code for p in build_floor(SEED) if p.hired_on(DAY) > date(2026, 11, 17)}
    assert per_day[date(2026, 11, 17)] == sum(c.rep not in new_hire_codes for c in whole_day)
    assert hires and all(first_calls.get(r, DAY) >= DAY - timedelta(2) for r in hires)
