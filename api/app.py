"""The FastAPI application: a thin layer that validates, stores and talks to Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from api.auth import Access
from api.limits import BodySizeLimit
from api.metrics import install_metrics
from api.routers import (
    analytics,
    codec,
    escalations,
    health,
    helpdesk_webhooks,
    queue,
    responder_webhooks,
    schedules,
    simulate,
    tickets,
)
from api.routers.closing import router as closing_router
from api.routers.dashboard import router as dashboard_router
from api.routers.reports import router as reports_router
from api.temporal_gateway import TemporalGateway
from escalation.policy import load_policy
from escalation.settings import Settings
from store.db import make_engine, make_sessionmaker
from store.repository import Repository


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. The Temporal client connects on first use, so /docs and /openapi.json
    are served even while Temporal is down."""
    settings = settings or Settings()
    policy = load_policy(settings.escalation_policy)
    access = Access.configure(settings)  # fails at start on a missing pepper or bad keys

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.policy = policy
        app.state.repository = Repository(make_sessionmaker(engine))
        app.state.gateway = TemporalGateway(settings)
        await access.start(app)
        yield
        intake = getattr(app.state, "intake", None)  # built on first use (routers/tickets.py)
        if intake is not None:
            await intake.aclose()
        engine.dispose()

    app = FastAPI(
        title="escalation-routing",
        version="0.1.0",
        description="Decides when a support ticket must be escalated, to whom, and drives the "
        "escalation to resolution as a durable Temporal workflow.",
        lifespan=lifespan,
    )

    @app.exception_handler(DataError)
    async def _refused_by_the_database(request: Request, exc: DataError) -> JSONResponse:
        # Input the database cannot store (e.g. a NUL character in text) is bad input: 422.
        del request
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": "input refused by the database (e.g. a NUL character in text)",
                        "type": "value_error",
                    }
                ]
            },
        )

    app.include_router(health.router)
    app.include_router(escalations.router)
    app.include_router(tickets.router)  # issue 3: intake and escalation packages
    app.include_router(helpdesk_webhooks.router)
    for router in (dashboard_router, reports_router, closing_router):  # issue 6
        app.include_router(router)
    app.include_router(schedules.router)
    app.include_router(queue.router)  # issue 4: escalated tickets first at business start
    app.include_router(analytics.router)  # issue 8: BI views as CSV
    app.include_router(simulate.router)
    app.include_router(responder_webhooks.router)
    codec.install(app, settings)
    install_metrics(app)
    # Outermost: an oversized body is refused (413) before any route or middleware reads it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.escalation_max_body_bytes)
    return app
