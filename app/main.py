"""The ASGI application: ``create_app(settings)`` wires engine, writer and routers."""

from __future__ import annotations

from contextlib import asynccontextmanager

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
from app.api.observe import Observe
from app.api.security import install as install_security
from app.config import Settings, get_settings
from app.db import make_engine
from app.ingest.service import context_for
from app.ingest.writer import IngestWriter
from app.live import ws as live_ws
from app.live.bus import heard_changes, heard_states, make_bus
from app.live.hub import Hub
from app.metrics import Metrics
from app.services.alert_engine import AlertEngine
from app.services.tokens import TokenVerifier


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database must already be migrated (``paceboard migrate`` / ``serve``)."""
    settings = settings or get_settings()
    settings.ensure_secret_key()
    engine = make_engine(settings.resolved_database_url)
    ctx = context_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.writer.start()
        await app.state.hub.start()
        await app.state.bus.start()
        app.state.alerts.start()
        try:
            yield
        finally:
            app.state.alerts.stop()
            await app.state.bus.stop()
            await app.state.hub.stop()
            app.state.writer.stop()
            engine.dispose()

    app = FastAPI(title="Paceboard", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.ingest_ctx = ctx
    app.state.writer = IngestWriter(engine, ctx)
    app.state.alerts = AlertEngine(
        engine,
        settings.pacing,
        idle_minutes=settings.idle_minutes,
        pause_limits=settings.pause_limits,
        recover_minutes=settings.recover_minutes,
        interval=settings.alert_interval_seconds,
    )
    app.state.hub = hub = Hub(engine, settings)
    # Other processes of this floor tell us of their commits and alerts over the bus.
    app.state.bus = bus = make_bus(
        kind=settings.bus,
        database_url=settings.resolved_database_url,
        redis_url=settings.redis_url,
        on_message=lambda m: _from_bus(hub, m),
        on_reconnect=hub.resync,
    )
    # Every committed batch may move figures, turn someone red or end an idle stretch.
    app.state.writer.hooks.append(hub.poke)
    app.state.writer.hooks.append(app.state.alerts.poke)
    app.state.writer.hooks.append(bus.changed)
    # Agent-state events move a rep's present state, time in state and the state alerts.
    app.state.writer.event_hooks += [hub.poke_states, app.state.alerts.poke_states]
    app.state.writer.event_hooks.append(bus.states_changed)
    app.state.alerts.hooks.append(hub.publish_alerts)
    app.state.alerts.hooks.append(bus.alerts)
    app.state.metrics = metrics = Metrics()
    app.state.writer.hooks.append(metrics.on_commit)
    app.state.alerts.hooks.append(metrics.on_alerts)
    bus.lag_observer = metrics.bus_lag.observe
    metrics.watch(
        sockets=lambda: len(hub.subscribers),
        bus=lambda: bus.connected,
        reads=lambda: hub.reads,
        full_reads=lambda: hub.full_reads,
    )
    app.state.tokens = TokenVerifier(engine, ttl=settings.token_cache_seconds)
    errors.install(app)
    install_security(app)  # security headers on every answer, the request body limit
    app.add_middleware(Observe, metrics=metrics)  # request ids, the access log, latency
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
    pages.install(app)  # /wallboard, /lead and /static (plotly.js from the package)
    return app


def _from_bus(hub: Hub, message: dict) -> None:
    """Another process committed a batch or raised alerts: this process's screens hear of it."""
    if message.get("kind") == "changed":
        reps, sales = heard_changes(message)
        hub.poke_changes(reps, sales, heard_states(message))
    elif message.get("kind") == "alerts" and isinstance(message.get("alerts"), list):
        hub.publish_alerts(message["alerts"])
