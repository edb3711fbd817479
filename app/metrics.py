"""Prometheus metrics of one process (``GET /metrics``): ingest by result, rejects, request
latency by route, live sockets, bus lag, alerts. Counts and timings only: never a name, a number
or a secret. Each app has its own registry, so two apps in one test process do not collide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401 (re-exported)
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.records = Counter(
            "paceboard_ingest_records",
            "Call records stored or refused, by result",
            ["status"],
            registry=r,
        )
        self.rejects = Counter(
            "paceboard_ingest_rejects",
            "Records refused with a reason (kept in ingest_reject)",
            registry=r,
        )
        self.commits = Counter(
            "paceboard_ingest_commits", "Transactions committed by the ingest writer", registry=r
        )
        self.requests = Histogram(
            "paceboard_http_request_duration_seconds",
            "HTTP request latency by route template and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.alerts = Counter(
            "paceboard_alerts_raised", "Alerts raised by this process", ["kind"], registry=r
        )
        self.bus_lag = Histogram(
            "paceboard_bus_lag_seconds",
            "Time from another process's publish to this process hearing it",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.sockets = Gauge("paceboard_live_sockets", "Open live sockets", registry=r)
        self.bus_connected = Gauge(
            "paceboard_bus_connected",
            "1 while the bus between processes is connected",
            registry=r,
        )
        self.snapshot_reads = Gauge(
            "paceboard_live_snapshot_reads", "Floor snapshots the live hub has read", registry=r
        )
        self.full_reads = Gauge(
            "paceboard_live_full_reads",
            "Whole-floor reads of the live screens' view (a new day, a roster or target change, "
            "a resync, a change heard of without its cells); the rest cost the changed reps only",
            registry=r,
        )

    def watch(
        self,
        *,
        sockets: Callable[[], int],
        bus: Callable[[], bool],
        reads: Callable[[], int],
        full_reads: Callable[[], int],
    ) -> None:
        """Gauges read at scrape time from the running hub and bus."""
        self.sockets.set_function(lambda: float(sockets()))
        self.bus_connected.set_function(lambda: 1.0 if bus() else 0.0)
        self.snapshot_reads.set_function(lambda: float(reads()))
        self.full_reads.set_function(lambda: float(full_reads()))

    def on_commit(self, outcome: Any) -> None:
        """A writer hook: count the batch's records by result."""
        self.commits.inc()
        counts: dict[str, int] = {}
        for result in outcome.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        for status, n in counts.items():
            self.records.labels(status).inc(n)
        if counts.get("rejected"):
            self.rejects.inc(counts["rejected"])

    def on_alerts(self, alerts: list[dict]) -> None:
        """An alert-engine hook."""
        for alert in alerts:
            self.alerts.labels(str(alert.get("kind"))).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
