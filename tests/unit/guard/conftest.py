"""The three services' real apps (every route, the request guard) on fresh databases.

Each app is built by ``create_service_app`` from the routes of the service's own
``main.app``, with settings of the test (SQLite files under tmp_path, or PostgreSQL
databases, and a Temporal address where nothing listens: writes that would start a
workflow are stored and left to the recovery loops, which are not run here).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.auth import Role, mint_token
from services.common.db import create_engine
from services.common.service_app import create_service_app
from services.common.settings import SERVICE_NAMES, Settings


def service_modules():
    from services.evaluation import main as evaluation_main
    from services.evaluation.base import Base as EvaluationBase
    from services.intake import main as intake_main
    from services.intake.base import Base as IntakeBase
    from services.talent import main as talent_main
    from services.talent.models import Base as TalentBase

    return {
        "intake": (intake_main.app, IntakeBase.metadata),
        "talent": (talent_main.app, TalentBase.metadata),
        "evaluation": (evaluation_main.app, EvaluationBase.metadata),
    }


Key = tuple[str, str, str]


def route_template(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)  # /people/{person_id:int} -> /people/{person_id}


def production_apps() -> dict[str, FastAPI]:
    return {name: app for name, (app, _) in service_modules().items()}


# Served without a token, on purpose: the probes, the Prometheus scrape (not part of the
# API, out of the document), the CORS preflight of the codec (browsers send none), and
# the public list of draws (an announcement anyone must be able to read before the reveal),
# and the public page (答复公开, issue 13): its pages and script (out of the document), its
# read API, the public commitments, and the sign-in that issues a resident's token.
NO_TOKEN = {
    ("talent", "GET", "/public/draws"), ("talent", "GET", "/public/draws/{draw_id}"),
    ("intake", "GET", "/public/page"), ("intake", "GET", "/public/page/topics/{topic_id}"),
    ("intake", "GET", "/public/page/column.js"),
    ("intake", "GET", "/public/plans/{year}"), ("intake", "GET", "/public/topics/{topic_id}"),
    ("intake", "POST", "/public/session"),
    ("evaluation", "GET", "/public/commitments"),
    ("intake", "GET", "/healthz"), ("intake", "GET", "/readyz"), ("intake", "GET", "/metrics"),
    ("talent", "GET", "/healthz"), ("talent", "GET", "/readyz"), ("talent", "GET", "/metrics"),
    ("evaluation", "GET", "/healthz"), ("evaluation", "GET", "/readyz"), ("evaluation", "GET", "/metrics"),
    ("intake", "OPTIONS", "/codec/{path}"),
}


def declared(apps: dict[str, FastAPI]) -> dict[Key, frozenset[Role] | None]:
    """Every documented operation's ``x-roles`` (None: the operation names none)."""
    matrix: dict[Key, frozenset[Role] | None] = {}
    for name in SERVICE_NAMES:
        document: dict[str, Any] = apps[name].openapi()
        for path, item in document["paths"].items():
            for method, operation in item.items():
                roles = operation.get("x-roles")
                matrix[(name, method.upper(), path)] = None if roles is None else frozenset(Role(r) for r in roles)
    return matrix


def build_app(name: str, settings: Settings) -> FastAPI:
    production_app, metadata = service_modules()[name]
    # The routers main.py included (FastAPI keeps them as included routers); the health
    # and metrics routers come with create_service_app again.
    routers = [r.original_router for r in production_app.router.routes if hasattr(r, "original_router")]
    routers = [r for r in routers if not any(getattr(x, "path", "") in ("/healthz", "/metrics") for x in r.routes)]
    assert routers, "no routers found in the service's app"
    return create_service_app(name, title=name, description=name, routers=routers, settings=settings, metadata=metadata)


def settings_for(urls: dict[str, str], data_dir: Path) -> Settings:
    return Settings(
        jwt_secret="t" * 40,
        data_dir=str(data_dir),
        temporal_address="127.0.0.1:9",  # nothing listens: Temporal is "down"
        log_level="error",
        **{f"{s}_database_url": urls[s] for s in SERVICE_NAMES},
    )


@dataclass
class Services:
    settings: Settings
    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]

    def token(self, role: Role, subject: str = "u-1", department: str | None = None) -> str:
        if role is Role.DEPARTMENT and department is None:
            department = "教育体育局"
        return mint_token(self.settings, role=role, subject=subject, department=department)

    def auth(self, role: Role, subject: str = "u-1", department: str | None = None, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token(role, subject, department)}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers


async def start_services(urls: dict[str, str], data_dir: Path) -> AsyncIterator[Services]:
    settings = settings_for(urls, data_dir)
    modules = service_modules()
    for name in SERVICE_NAMES:
        engine = create_engine(urls[name])
        async with engine.begin() as conn:
            await conn.run_sync(modules[name][1].create_all)
        await engine.dispose()
    apps = {name: build_app(name, settings) for name in SERVICE_NAMES}
    async with AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=f"http://{name}")
            )
        yield Services(settings, apps, clients)


@pytest.fixture(params=["sqlite", "postgresql"])
async def services(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    """The three apps on SQLite files, and on fresh PostgreSQL databases (skipped where
    PostgreSQL is unreachable, except under CI)."""
    if request.param == "sqlite":
        urls = {s: f"sqlite+aiosqlite:///{tmp_path}/{s}.db" for s in SERVICE_NAMES}
        async for running in start_services(urls, tmp_path):
            yield running
        return
    from tests.stack import postgres_databases

    with postgres_databases(f"xs_guard_{uuid.uuid4().hex[:8]}", "the request guard") as urls:
        async for running in start_services(urls, tmp_path):
            yield running
