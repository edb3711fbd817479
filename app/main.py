"""The ASGI application: ``create_app(settings)`` wires engine, writer and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import FastAPI

from app.api import (
    admin,
    alerts,
    attendance,
    auth,
    errors,
    floor,
    health,
    imports,
    ingest,
    leaderboard,
    pages,
    plans,
    reports,
    roster,
    targets,
    webhooks,
)
from app.api.limits import AttemptLimiter
from app.api.observe import Observe
from app.api.security import install as install_security
from app.config import Settings, get_settings
from app.db import make_engine
from app.ingest.service import IngestContext, context_for
from app.ingest.writer import IngestWriter
from app.live import ws as live_ws
from app.live.bus import Bus, heard_changes, heard_states, make_bus
from app.live.hub import Hub
from app.metrics import Metrics
from app.services.alert_engine import AlertEngine
from app.services.tokens import TokenVerifier


@dataclass(frozen=True)
class Parts:
    """The long-lived objects of one app; each is ``app.state.<name>``, which only the
    providers of app/api/deps.py and app/live/deps.py read."""

    settings: Settings
    engine: sa.Engine
    ingest_ctx: IngestContext
    writer: IngestWriter
    alerts: AlertEngine
    hub: Hub
    bus: Bus
    metrics: Metrics
    tokens: TokenVerifier
    login_limiter: AttemptLimiter


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database must already be migrated (``paceboard migrate`` / ``serve``)."""
    settings = settings or get_settings()
    settings.ensure_secret_key()
    parts = build_parts(settings)
    connect(parts)
    app = FastAPI(title="Paceboard", version="0.1.0", lifespan=lifespan(parts))
    for name, value in vars(parts).items():
        setattr(app.state, name, value)
    errors.install(app)
    install_security(app)  # security headers on every answer, the request body limit
    app.add_middleware(Observe, metrics=parts.metrics)  # request ids, the access log, latency
    include_routers(app)
    pages.install(app, settings.labels)  # /wallboard, /lead and /static (plotly.js)
    return app


def build_parts(settings: Settings) -> Parts:
    """The engine and everything built on it, not yet connected to each other."""
    engine = make_engine(settings.resolved_database_url)
    ctx = context_for(settings)
    hub = Hub(engine, settings)
    # Other processes of this floor tell us of their commits and alerts over the bus.
    bus = make_bus(
        kind=settings.bus,
        database_url=settings.resolved_database_url,
        redis_url=settings.redis_url,
        on_message=lambda m: _from_bus(hub, m),
        on_reconnect=hub.resync,
    )
    alerts = AlertEngine(
        engine,
        settings.pacing,
        idle_minutes=settings.idle_minutes,
        pause_limits=settings.pause_limits,
        recover_minutes=settings.recover_minutes,
        interval=settings.alert_interval_seconds,
    )
    return Parts(
        settings=settings,
        engine=engine,
        ingest_ctx=ctx,
        writer=IngestWriter(engine, ctx),
        alerts=alerts,
        hub=hub,
        bus=bus,
        metrics=Metrics(),
        tokens=TokenVerifier(engine, ttl=settings.token_cache_seconds),
        login_limiter=AttemptLimiter(),
    )


def connect(parts: Parts) -> None:
    """Hook the parts to each other: who hears of a commit, an agent-state event, an alert."""
    writer, hub, alerts, bus, metrics = (
        parts.writer,
        parts.hub,
        parts.alerts,
        parts.bus,
        parts.metrics,
    )
    # Every committed batch may move figures, turn someone red or end an idle stretch.
    writer.hooks += [hub.poke, alerts.poke, bus.changed, metrics.on_commit]
    # Agent-state events move a rep's present state, time in state and the state alerts.
    writer.event_hooks += [hub.poke_states, alerts.poke_states, bus.states_changed]
    alerts.hooks += [hub.publish_alerts, bus.alerts, metrics.on_alerts]
    bus.lag_observer = metrics.bus_lag.observe
    metrics.watch(
        sockets=lambda: len(hub.subscribers),
        bus=lambda: bus.connected,
        reads=lambda: hub.reads,
        full_reads=lambda: hub.full_reads,
    )


def lifespan(parts: Parts) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the writer, hub, bus and alert engine with the app; stop them in reverse order."""

    @asynccontextmanager
    async def run(_: FastAPI) -> AsyncIterator[None]:
        parts.writer.start()
        await parts.hub.start()
        await parts.bus.start()
        parts.alerts.start()
        try:
            yield
        finally:
            parts.alerts.stop()
            await parts.bus.stop()
            await parts.hub.stop()
            parts.writer.stop()
            parts.engine.dispose()

    return run


def include_routers(app: FastAPI) -> None:
    """Every route of the API, the pages' routers and the live socket."""
    modules = (
        health,
        ingest,
        imports,
        floor,
        leaderboard,
        roster,
        targets,
        alerts,
        attendance,
        plans,
    )
    for module in modules:
        app.include_router(module.router)
    app.include_router(webhooks.router)  # no bearer token: Twilio signs its requests
    app.include_router(live_ws.router)
    app.include_router(auth.router)  # /login, /logout and /setup (the first admin)
    app.include_router(reports.router)  # /api/v1/reports/* and the /reports/* pages
    app.include_router(admin.router)  # users, TV links, tokens, roster CSV, the checklist
    app.include_router(admin.pages)  # /admin


def _from_bus(hub: Hub, message: dict) -> None:
    """Another process committed a batch or raised alerts: this process's screens hear of it."""
    if message.get("kind") == "changed":
        reps, sales = heard_changes(message)
        hub.poke_changes(reps, sales, heard_states(message))
    elif message.get("kind") == "alerts" and isinstance(message.get("alerts"), list):
        hub.publish_alerts(message["alerts"])
