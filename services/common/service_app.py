"""What every Xieshang service has: settings, database, Temporal, problems, health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
import structlog
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from .db import create_engine, session_factory
from .log import configure_logging
from .problems import Problem, install_problem_handlers
from .settings import ServiceName, Settings, get_settings
from .temporal import TemporalConnection
from .writes import WRITE_METHODS, WriteGuard, request_records

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
    settings: Settings | None = None,
    metadata: MetaData | None = None,
) -> FastAPI:
    """The service's app. ``metadata`` holds its tables, among them the idempotency keys
    and the audit trail that the request guard (services/common/writes.py) writes."""
    settings = settings or get_settings()

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
    app.add_middleware(WriteGuard)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router)
    _document_idempotency_key(app)
    return app


def _document_idempotency_key(app: FastAPI) -> None:
    """Every write accepts Idempotency-Key (the guard handles it, not the routes):
    say so in each write operation of the OpenAPI document."""
    plain_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain_openapi()
        header = {
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Any unique string (a UUID). A retry with the same key, by the same caller, to the same "
                           "route and with the same body gets the first answer (Idempotent-Replayed: true); the "
                           "same key with another body is 422.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if method.upper() in WRITE_METHODS:
                    parameters = operation.setdefault("parameters", [])
                    if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                        parameters.append(header)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
