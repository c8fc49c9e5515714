"""The request guard and the route share one session (services/common/writes.py): the
key is reserved and committed before the route, the route commits its own work in the
same session, and the stored answer commits with the audit entry. Each property of the
key holds through it, on SQLite and PostgreSQL: a retry by the same caller gets the
stored answer, another caller's key is another key, a failed request keeps nothing it
left uncommitted and releases its key, a concurrent twin waits for the first answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common import audit as audit_module
from services.common.audit import audit_tables
from services.common.auth import Principal, Role, allow, mint_token
from services.common.db import create_engine, get_session
from services.common.idempotency import idempotency_table
from services.common.problems import Problem
from services.common.service_app import create_service_app
from services.common.settings import SERVICE_NAMES

from .conftest import settings_for

METADATA = MetaData()
NOTES = Table("notes", METADATA, Column("id", Integer, primary_key=True), Column("text", String(100), nullable=False))
KEYS = idempotency_table(METADATA)
LOG, HEAD = audit_tables(METADATA)

router = APIRouter()
Session = Annotated[AsyncSession, Depends(get_session)]
runs: dict[str, int] = {}


@router.post("/notes", status_code=201)
async def add_note(body: dict, session: Session, principal: Annotated[Principal, Depends(allow(Role.CLERK))]) -> dict:
    runs[body["text"]] = runs.get(body["text"], 0) + 1
    if body.get("slow"):
        await asyncio.sleep(0.3)
    note_id = (await session.execute(insert(NOTES).values(text=body["text"]).returning(NOTES.c.id))).scalar_one()
    if body.get("refuse"):
        raise Problem(409, "Refused", "refused after an uncommitted insert")
    if body.get("crash"):
        raise RuntimeError("failed after an uncommitted insert")
    await session.commit()
    return {"id": note_id, "text": body["text"], "by": principal.subject}


@dataclass
class App:
    client: httpx.AsyncClient
    engine: AsyncEngine  # the test's own connection to the database
    served_engine: AsyncEngine  # the app's
    token: Callable[..., dict]  # (subject, key) -> headers

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture(params=["sqlite", "postgresql"])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[App]:
    async def serve(url: str) -> AsyncIterator[App]:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(METADATA.create_all)
        settings = settings_for({s: url for s in SERVICE_NAMES}, tmp_path)
        served = create_service_app("intake", title="t", description="t", routers=[router], settings=settings,
                                    metadata=METADATA)

        def token(subject: str, key: str | None = None) -> dict:
            headers = {"Authorization": f"Bearer {mint_token(settings, role=Role.CLERK, subject=subject)}"}
            return headers | ({"Idempotency-Key": key} if key else {})

        async with served.router.lifespan_context(served):
            transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
                yield App(client, engine, served.state.engine, token)
        await engine.dispose()

    runs.clear()
    if request.param == "sqlite":
        async for running in serve(f"sqlite+aiosqlite:///{tmp_path}/guard.db"):
            yield running
        return
    from tests.stack import postgres_databases

    with postgres_databases(f"xs_gs_{uuid.uuid4().hex[:8]}", "the guard's session", services=("intake",)) as urls:
        async for running in serve(urls["intake"]):
            yield running


async def test_a_keyed_write_commits_three_times(app: App) -> None:
    # The first write ever also creates the audit chain's head: not counted.
    assert (await app.client.post("/notes", json={"text": "x"}, headers=app.token("clerk-1", "k-0"))).status_code == 201
    commits = 0

    def count_commit(*_: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(app.served_engine.sync_engine, "commit", count_commit)
    try:
        made = await app.client.post("/notes", json={"text": "y"}, headers=app.token("clerk-1", "k-1"))
    finally:
        event.remove(app.served_engine.sync_engine, "commit", count_commit)
    assert made.status_code == 201, made.text
    # The reservation, the route's commit, the answer with the audit entry (separate
    # sessions took four: the answer and the audit entry committed apart).
    assert commits == 3


async def test_a_retry_replays_and_another_callers_key_is_another_key(app: App) -> None:
    first = await app.client.post("/notes", json={"text": "a"}, headers=app.token("clerk-1", "k-1"))
    assert first.status_code == 201, first.text
    again = await app.client.post("/notes", json={"text": "a"}, headers=app.token("clerk-1", "k-1"))
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert runs["a"] == 1 and await app.count(NOTES) == 1
    # Another caller's same key is another key: the route runs again, for them.
    other = await app.client.post("/notes", json={"text": "a"}, headers=app.token("clerk-2", "k-1"))
    assert other.status_code == 201 and other.json()["by"] == "clerk-2" and "Idempotent-Replayed" not in other.headers
    assert runs["a"] == 2 and await app.count(NOTES) == 2
    async with app.engine.connect() as conn:
        trail = (await conn.execute(select(LOG.c.caller, LOG.c.outcome).order_by(LOG.c.seq))).all()
        stored = (await conn.execute(select(KEYS.c.caller, KEYS.c.status).order_by(KEYS.c.caller))).all()
    assert trail == [("clerk-1", 201), ("clerk-2", 201)]  # the replay changed nothing and is not recorded
    assert stored == [("clerk||clerk-1", 201), ("clerk||clerk-2", 201)]


@pytest.mark.parametrize(("flag", "status"), [("refuse", 409), ("crash", 500)])
async def test_a_failed_write_keeps_nothing_and_releases_its_key(app: App, flag: str, status: int) -> None:
    failed = await app.client.post("/notes", json={"text": "b", flag: True}, headers=app.token("clerk-1", "k-2"))
    assert failed.status_code == status, failed.text
    assert await app.count(NOTES) == 0 and await app.count(KEYS) == 0
    async with app.engine.connect() as conn:
        assert (await conn.execute(select(LOG.c.outcome))).scalars().all() == [status]
    # The key is free again: the corrected request runs under it.
    fixed = await app.client.post("/notes", json={"text": "b"}, headers=app.token("clerk-1", "k-2"))
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers, fixed.text
    assert await app.count(NOTES) == 1 and await app.count(KEYS) == 1


async def test_a_concurrent_twin_waits_for_the_first_answer(app: App) -> None:
    headers = app.token("clerk-1", "k-3")
    first, twin = await asyncio.gather(
        app.client.post("/notes", json={"text": "c", "slow": True}, headers=headers),
        app.client.post("/notes", json={"text": "c", "slow": True}, headers=headers),
    )
    assert (first.status_code, twin.status_code) == (201, 201), (first.text, twin.text)
    assert first.json() == twin.json()
    assert ["Idempotent-Replayed" in a.headers for a in (first, twin)].count(True) == 1
    assert runs["c"] == 1 and await app.count(NOTES) == 1


async def test_an_audit_entry_that_cannot_be_appended_still_keeps_the_answer(app: App, monkeypatch) -> None:
    async def broken(self, session, entry, *, with_it=None):  # noqa: ANN001
        await with_it()  # the key's answer is in the transaction that then fails
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(audit_module.AuditTrail, "append", broken)
    made = await app.client.post("/notes", json={"text": "d"}, headers=app.token("clerk-1", "k-4"))
    assert made.status_code == 201, made.text
    again = await app.client.post("/notes", json={"text": "d"}, headers=app.token("clerk-1", "k-4"))
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == made.json()
    assert runs["d"] == 1 and await app.count(LOG) == 0
