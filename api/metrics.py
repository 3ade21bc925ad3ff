"""Prometheus metrics of the API process, served at /metrics.

Requests are counted and timed by method, route *template* (e.g.
`/v1/escalations/{ticket_id}/acknowledge`, never the raw path: ticket ids would explode the
label space) and status. Escalations started, notifications, vendor errors and
acknowledgement latency are the worker's metrics (activities/metrics.py), where they happen.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import require
from escalation.apikeys import Permission

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.requests = Counter(
            "escalation_api_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "escalation_api_request_duration_seconds",
            "HTTP request duration, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task or body buffering)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:  # not every route records itself in the scope (e.g. /openapi.json)
            route = next((r for r in self.routes if r.matches(scope)[0] is Match.FULL), None)
        return getattr(route, "path", None) or "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = self._template(scope)
            if template != "/metrics":
                method = scope.get("method", "")
                self.metrics.requests.labels(method, template, str(status)).inc()
                self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Add the middleware and the /metrics route to `app`."""
    metrics = ApiMetrics()
    router = APIRouter(tags=["health"])

    # Like every endpoint but /healthz, /metrics needs a key (Prometheus sends it with
    # `authorization: {credentials: ...}` in its scrape config); viewer is enough.
    @router.get(
        "/metrics", include_in_schema=False, dependencies=[Depends(require(Permission.READ))]
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=app.router.routes)
    app.state.metrics = metrics
    return metrics
