"""A bare FastAPI app over some of one service's routers on a fresh SQLite database, and
stand-ins for its Temporal connection: for unit tests that drive routes through ASGI.
The e2e tests cover the same paths over real HTTP with a real Temporal server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData

from services.common.db import create_engine, session_factory
from services.common.problems import Problem, install_problem_handlers
from services.common.settings import Settings
from services.common.writes import WriteGuard, request_records


class TemporalConnection:
    """Stands in for ``app.state.temporal``: ``client`` None is Temporal down (503, as the
    real connection answers when the server cannot be reached)."""

    def __init__(self, client: object | None = None) -> None:
        self._client = client

    async def client(self) -> object:
        if self._client is None:
            raise Problem(503, "Temporal unavailable", "down")
        return self._client


class OneHandleClient:
    """A Temporal client whose every workflow handle is ``handle``."""

    def __init__(self, handle: object) -> None:
        self.handle = handle

    def get_workflow_handle(self, workflow_id: str) -> object:
        return self.handle


@asynccontextmanager
async def router_app(
    database: Path,
    metadata: MetaData,
    routers: Sequence[APIRouter],
    *,
    settings: Settings,
    temporal: object | None = None,
    guard: bool = False,
) -> AsyncIterator[FastAPI]:
    """The app, its tables created from ``metadata``; ``guard`` adds the request guard
    (idempotency per caller, as every service runs it)."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    app = FastAPI()
    app.state.settings = settings
    app.state.sessions = session_factory(engine)
    if temporal is not None:
        app.state.temporal = temporal
    if guard:
        app.state.request_records = request_records(metadata, app.state.sessions)
        app.add_middleware(WriteGuard)
    install_problem_handlers(app)
    for router in routers:
        app.include_router(router)
    try:
        yield app
    finally:
        await engine.dispose()


@asynccontextmanager
async def asgi_client(app: FastAPI, service: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client into ``app``; exceptions become 500s, as a server would answer."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
        yield client
