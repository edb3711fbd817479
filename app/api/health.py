"""Liveness: open to all, touches nothing."""

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict:
    return {"status": "ok"}
