"""The wallboard's week and month leaderboards (its rotating views). A TV reads them with its
display link's secret, which opens this route and no other JSON route."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query

from app.api.deps import ConnDep, PrincipalLookupDep, SettingsDep, team_allowed
from app.api.types import Day
from app.services.leaderboard import Leaderboard, LeaderMetric, Period, leaderboard
from app.services.tokens import Principal

router = APIRouter(prefix="/api/v1/floor", tags=["floor"])


async def display_or_reader(
    lookup: PrincipalLookupDep,
    x_display: Annotated[
        str | None, Header(description="A display link's secret (the TV's own reads)")
    ] = None,
    display: Annotated[str | None, Query(description="A display link's secret")] = None,
) -> Principal:
    """A bearer token, a display link's secret (``X-Display`` header or ``display``) or the
    session cookie allowed the ``display`` scope: TVs, read tokens, leads, admins."""
    principal = await lookup(display=x_display or display)
    if principal is None:
        raise HTTPException(
            401,
            "sign in, or send Authorization: Bearer <token> or X-Display: <display secret>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not principal.allows("display"):
        raise HTTPException(
            403, f"this route needs scope 'display' (this credential has '{principal.scope}')"
        )
    return principal


display_or_reader.policy = "display"  # type: ignore[attr-defined]
DisplayPrincipal = Annotated[Principal, Depends(display_or_reader)]


@router.get("/leaderboard", summary="Reps and teams ranked by one metric over this week or month")
def period_leaderboard(
    conn: ConnDep,
    settings: SettingsDep,
    principal: DisplayPrincipal,
    period: Annotated[Period, Query(description="week (Monday to Sunday) or month")] = "week",
    metric: Annotated[LeaderMetric, Query(description="The figure to rank by")] = "revenue",
    team: Annotated[str | None, Query(description="Only this team's reps")] = None,
    day: Annotated[
        Day | None, Query(description="The period containing this day (default: today)")
    ] = None,
) -> Leaderboard:
    team = team_allowed(principal, team)
    return leaderboard(
        conn,
        period=period,
        metric=metric,
        day=day or settings.today(),
        timezone=settings.timezone,
        teams=principal.teams,
        team=team,
    )
