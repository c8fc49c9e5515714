"""What every Xieshang service has: settings, database, Temporal, problems, health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from . import workflow_ids
from .db import create_engine, session_factory
from .log import configure_logging
from .openapi import install_problem_openapi
from .metrics import Refresher, install_metrics
from .problems import Problem, install_problem_handlers
from .request_guard import RequestGuard
from .settings import ServiceName, Settings, get_settings
from .temporal import TemporalConnection
from .tracing import configure_tracing, instrument_app
from .writes import WriteGuard, request_records

log = structlog.get_logger()

BackgroundTask = Callable[[FastAPI], Awaitable[None]]
# One pass of a recovery job: (app, session, Temporal client) -> how many items it settled.
RecoveryPass = Callable[[FastAPI, AsyncSession, Client], Awaitable[int]]


def recovery_loop(name: str, one_pass: RecoveryPass, *, every_seconds: float = 5.0) -> BackgroundTask:
    """A background task that runs ``one_pass`` every few seconds, for as long as the
    service runs: it catches up on what a crash or an outage left undone (workflows not
    started, updates not delivered). A failing pass is logged and tried again."""

    async def loop(app: FastAPI) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                temporal = await app.state.temporal.client()
                async with app.state.sessions() as session:
                    settled = await one_pass(app, session, temporal)
                if settled:
                    log.info(f"{name}.settled_late", count=settled)
            except Problem:
                continue  # Temporal still down; the next pass tries again
            except Exception as exc:  # keep the loop alive
                log.warning(f"{name}.pass_failed", error=type(exc).__name__)

    loop.__name__ = name
    return loop


def create_service_app(
    name: ServiceName,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    background: Sequence[BackgroundTask] = (),
    metric_refreshers: Sequence[Refresher] = (),
    settings: Settings | None = None,
    metadata: MetaData | None = None,
) -> FastAPI:
    """The service's app. ``metadata`` holds its tables, among them the idempotency keys
    and the audit trail that the request guard (services/common/writes.py) writes."""
    settings = settings or get_settings()
    workflow_ids.configure(settings.installation_id, settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, service=name)
        engine = create_engine(settings.database_url(name))
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.request_records = request_records(metadata, app.state.sessions)
        tasks = [asyncio.create_task(job(app), name=job.__name__) for job in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.dispose()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.service_name = name
    app.state.temporal = TemporalConnection(settings)
    install_problem_handlers(app)
    # The write guard (idempotency, audit trail) runs inside the request guard: it sees
    # only bodies that guard let through, and an exception it re-raises after releasing
    # its key becomes the request guard's problem+json 500.
    app.add_middleware(WriteGuard)
    # Inside Starlette's ServerErrorMiddleware, outside the routes' exception handlers:
    # request ids, the input no route may receive, and a 500 that keeps the connection.
    app.add_middleware(RequestGuard)
    install_metrics(app, name, list(metric_refreshers))
    configure_tracing(settings, name)
    instrument_app(app, settings)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router)
    install_problem_openapi(app)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz(request: Request) -> dict[str, str]:
        return {"status": "ok", "service": request.app.state.service_name}

    @router.get("/readyz", summary="Readiness: database and Temporal reachable")
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(request.app.state.temporal.check(), timeout=5)
            checks["temporal"] = "ok"
        except Exception as exc:
            checks["temporal"] = f"unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
