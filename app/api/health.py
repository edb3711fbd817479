"""Liveness: open to all, touches nothing."""

from fastapi import APIRouter, Depends

from app.api.deps import public

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="The process is up",
    dependencies=[Depends(public("liveness probe: answers ok, reads and reveals nothing"))],
)
def healthz() -> dict:
    return {"status": "ok"}
