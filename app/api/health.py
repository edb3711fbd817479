"""Probes and metrics: liveness, readiness, Prometheus. Open to all on purpose (a load balancer
and a scraper hold no token); they reveal no names, numbers or secrets."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import BusDep, EngineDep, MetricsDep, public
from app.metrics import CONTENT_TYPE
from app.migrate import pending

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="The process is up",
    dependencies=[Depends(public("liveness probe: answers ok, reads and reveals nothing"))],
)
def healthz() -> dict:
    return {"status": "ok"}


def _database_state(engine: sa.Engine) -> tuple[bool, list[str], str | None]:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True, pending(engine), None
    except Exception as exc:  # the probe reports it; the reason names the kind, not the URL
        return False, [], type(exc).__name__


@router.get(
    "/readyz",
    summary="Ready for traffic: the database answers and its schema is current",
    responses={503: {"description": "Not ready: the body says which check failed"}},
    dependencies=[Depends(public("readiness probe: states of the checks, no data"))],
)
async def readyz(engine: EngineDep, bus: BusDep) -> JSONResponse:
    reachable, missing, error = await run_in_threadpool(_database_state, engine)
    checks = {
        "database": "ok" if reachable else f"unreachable ({error})",
        "migrations": "current"
        if reachable and not missing
        else ("unknown" if not reachable else f"pending: {', '.join(missing)}"),
        # The bus is reported, not required: without it screens still refresh every minute.
        "bus": f"{bus.name}: {'connected' if bus.connected else 'reconnecting'}",
    }
    ready = reachable and not missing
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    dependencies=[Depends(public("Prometheus scrape: counts and timings only, no data"))],
)
def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)
