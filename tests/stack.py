"""Real stacks for end-to-end tests: a Temporal dev server, three uvicorn services and
the worker as separate processes, on SQLite or on fresh PostgreSQL databases."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.auth import Role, mint_token
from services.common.db import create_engine
from services.common.devstack import DevStack, StackPorts
from services.common.settings import SERVICE_NAMES, Settings
from tests.webhook_receiver import Receiver

POSTGRES_ADMIN_URL = os.environ.get("XIESHANG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _in_thread(coro_factory: Callable[[], Awaitable[object]]) -> object:
    """Run a coroutine to completion on a private loop (fixtures are sync)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def postgres_unreachable_reason() -> str | None:
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        _in_thread(probe)
        return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} unreachable ({type(exc).__name__}: {exc})"


def create_postgres_databases(prefix: str, services: Iterable[str] = SERVICE_NAMES) -> dict[str, str]:
    import asyncpg

    names = {service: f"{prefix}_{service}" for service in services}

    async def create() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            for name in names.values():
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    _in_thread(create)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return {service: f"{base}/{name}" for service, name in names.items()}


def drop_postgres_databases(urls: dict[str, str]) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            for url in urls.values():
                await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    _in_thread(drop)


def require_postgres(what: str, reason: str | None = None) -> None:
    """Skip the calling test where PostgreSQL is unreachable (``reason``, or probed now);
    under CI fail it instead, since CI must run ``what`` on PostgreSQL."""
    import pytest

    if reason is None and (reason := postgres_unreachable_reason()) is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run {what} on PostgreSQL: {reason}")
    pytest.skip(reason)


@contextmanager
def postgres_databases(prefix: str, what: str, services: Iterable[str] = SERVICE_NAMES) -> Iterator[dict[str, str]]:
    """Fresh PostgreSQL databases (one per service) for a test, dropped afterwards.
    Skipped where PostgreSQL is unreachable, except under CI, where ``what`` must run."""
    require_postgres(what)
    urls = create_postgres_databases(prefix, services)
    try:
        yield urls
    finally:
        drop_postgres_databases(urls)


@asynccontextmanager
async def database_engine(backend: str, service: str, tmp_path: Path, what: str) -> AsyncIterator[AsyncEngine]:
    """One service's empty database for a unit test: a SQLite file under ``tmp_path``, or a
    fresh PostgreSQL database dropped afterwards (skipped where unreachable, failed under CI)."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/{service}.db")
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    with postgres_databases(f"xs_unit_{uuid.uuid4().hex[:10]}", what, services=(service,)) as urls:
        engine = create_engine(urls[service])
        try:
            yield engine
        finally:
            await engine.dispose()  # before the drop: no connection may stay open

@dataclass
class Stack:
    backend: str
    devstack: DevStack
    settings: Settings
    webhook: Receiver  # every notification of this stack is delivered here

    def notifications_for(self, commitment_id: int) -> list[dict]:
        """Bodies the webhook received about one commitment, in arrival order."""
        bodies = [json.loads(r["body"]) for r in list(self.webhook.requests)]
        return [b for b in bodies if b["payload"].get("commitment_id") == commitment_id]

    def url(self, service: str) -> str:
        return self.devstack.service_url(service)  # type: ignore[arg-type]

    def token(self, role: Role, subject: str = "test-user", department: str | None = None) -> str:
        return mint_token(self.settings, role=role, subject=subject, department=department, ttl_seconds=3600)

    def auth(self, role: Role, **kwargs: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.devstack.ports.temporal}"

    async def temporal_client(self):
        """A Temporal client with the stack's payload keys (as its services have)."""
        from services.common.temporal import connect

        return await connect(self.settings.model_copy(update={"temporal_address": self.temporal_address}))


def start_stack(backend: str, data_dir: Path, database_urls: dict[str, str]) -> Stack:
    webhook = Receiver()
    env = {
        "XIESHANG_NOTIFICATION_WEBHOOKS": json.dumps({"office-robot": webhook.url}),
        "XIESHANG_NOTIFICATION_POLL_SECONDS": "0.5",
        # The lifecycle on a seconds scale: one "day" is a second (commitments of a
        # meeting are followed up with one working day = one second).
        "XIESHANG_CONSULTATION_DAY_SECONDS": "1",
        "XIESHANG_CONSULTATION_RESEARCH_DAYS": "600",
        # Long enough for the kindergarten case to look up 20 invitees in talent and
        # answer them on a loaded 2-core CI machine (0.5 s a request); silence is not
        # what these tests exercise (the replacement round is, through a decline).
        "XIESHANG_CONSULTATION_INVITATION_REPLY_DAYS": "60",
        "XIESHANG_CONSULTATION_EVALUATION_WINDOW_DAYS": "3",
        "XIESHANG_JWT_SECRET": secrets.token_urlsafe(32),
        "XIESHANG_TEMPORAL_TASK_QUEUE": f"xieshang-{backend}",
        "XIESHANG_LOG_LEVEL": "info",
        # The tests' HTTP clients on 127.0.0.1 play the county's reverse proxy: their
        # X-Forwarded-For is believed; from any other peer (127.0.0.2...) it is not.
        "XIESHANG_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
    }
    for service, url in database_urls.items():
        env[f"XIESHANG_{service.upper()}_DATABASE_URL"] = url
    devstack = DevStack(data_dir=data_dir, ports=StackPorts.free(), env=env)
    # Migrations through the real CLI, in a process of their own, as `make up` does.
    subprocess.run(
        [sys.executable, "-m", "services.common.cli", "migrate"],
        env={**os.environ, **devstack.env},
        check=True,
        capture_output=True,
    )
    # What the tests need of the stack's settings: the key that signs their tokens.
    settings = Settings(jwt_secret=env["XIESHANG_JWT_SECRET"], data_dir=str(data_dir))
    try:
        devstack.start_temporal()
        for service in SERVICE_NAMES:
            devstack.start_service(service)
        devstack.start_worker()
        devstack.wait_ready()
    except BaseException:
        devstack.stop()
        webhook.close()
        raise
    return Stack(backend=backend, devstack=devstack, settings=settings, webhook=webhook)
