"""The audit trail: every write of the three services in a hash-chained table, and
`xieshang audit verify` naming the first broken link after tampering."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, delete, select, update

from services.common.audit import AuditEntry, AuditTrail, audit_tables, verify_chain
from services.common.auth import Role
from services.common.cli import cmd_audit_verify, verify_audit_trails
from services.common.db import create_engine, session_factory
from services.common.settings import SERVICE_NAMES

from .conftest import Services

LOG, HEAD = audit_tables(MetaData())


async def rows(url: str) -> list:
    engine = create_engine(url)
    async with engine.connect() as conn:
        found = (await conn.execute(select(LOG).order_by(LOG.c.seq))).all()
    await engine.dispose()
    return found


async def test_writes_are_recorded_without_payloads_and_the_chain_verifies(services: Services) -> None:
    secret_phone = "13812345678"
    await services.clients["intake"].post(
        "/venues", json={"code": "hall-7", "name": "七号厅", "kind": "hall", "address": f"电话{secret_phone}"},
        headers=services.auth(Role.CLERK, "office-1"),
    )
    await services.clients["talent"].post(
        "/people", json={"kind": "talent", "display_name": "王小明", "phone": secret_phone},
        headers=services.auth(Role.CLERK, "office-1"),
    )
    refused = await services.clients["evaluation"].post(
        "/notifications/5/retry", headers=services.auth(Role.OPERATOR, "watcher-1"),
    )
    assert refused.status_code == 403
    await services.clients["evaluation"].post(
        "/ratings/consultations", json={"consultation_topic_id": 2, "organiser": "教科卫体委", "plan_year": 2026,
                                        "aspect": "topic_precision", "score": 4},
        headers=services.auth(Role.PUBLIC, "wx-openid-123"),
    )
    # Reads and requests without a valid token are not writes of anybody.
    await services.clients["talent"].get("/people", headers=services.auth(Role.CLERK))
    await services.clients["talent"].post("/people", json={}, headers={"Authorization": "Bearer nope"})

    intake, talent, evaluation = [await rows(services.settings.database_url(s)) for s in SERVICE_NAMES]
    assert [(r.caller, r.role, r.action, r.outcome) for r in intake] == [("office-1", "clerk", "POST /venues", 201)]
    assert intake[0].resource.startswith("id=")
    assert [(r.action, r.outcome) for r in talent] == [("POST /people", 201)]
    assert [(r.caller, r.role, r.action, r.resource, r.outcome) for r in evaluation[:1]] == [
        ("watcher-1", "operator", "POST /notifications/{notification_id}/retry", "notification_id=5", 403)
    ]
    resident = evaluation[1]
    assert resident.role == "public" and resident.caller.startswith("resident:") and "wx-openid" not in resident.caller
    for row in intake + talent + evaluation:
        assert secret_phone not in str(tuple(row)) and "王小明" not in str(tuple(row))

    results = await verify_audit_trails(services.settings, SERVICE_NAMES)
    assert {s: (v.ok, v.entries) for s, v in results.items()} == {"intake": (True, 1), "talent": (True, 1),
                                                                     "evaluation": (True, 2)}


async def _append(url: str, n: int, *, concurrently: bool = False) -> None:
    engine = create_engine(url)
    trail, sessions = AuditTrail(LOG, HEAD), session_factory(engine)

    async def one(i: int) -> None:
        async with sessions() as session:
            await trail.append(session, AuditEntry(f"office-{i}", "clerk", "POST /venues", f"id={i}", 201))

    if concurrently:
        await asyncio.gather(*(one(i) for i in range(n)))
    else:
        for i in range(n):
            await one(i)
    await engine.dispose()


async def _verify(url: str):
    engine = create_engine(url)
    try:
        return await verify_chain(engine, LOG, HEAD)
    finally:
        await engine.dispose()


async def _tamper(url: str, statement) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(statement)
    await engine.dispose()


async def _fresh(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(LOG.metadata.create_all)
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def chain_url(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/audit.db"
        await _fresh(url)
        yield url
        return
    from tests.stack import postgres_databases

    with postgres_databases(f"xs_audit_{uuid.uuid4().hex[:8]}", "the audit chain") as urls:
        await _fresh(urls["intake"])
        yield urls["intake"]


async def test_concurrent_appends_keep_one_unbroken_chain(chain_url: str) -> None:
    await asyncio.gather(*(_append(chain_url, 10, concurrently=True) for _ in range(4)))
    verification = await _verify(chain_url)
    assert verification.ok, verification.reason
    assert verification.entries == 40


async def test_a_modified_row_is_named(chain_url: str) -> None:
    await _append(chain_url, 6)
    await _tamper(chain_url, update(LOG).where(LOG.c.seq == 4).values(outcome=200))
    verification = await _verify(chain_url)
    assert (verification.ok, verification.broken_at, verification.entries) == (False, 4, 3)
    assert "modified" in verification.reason


async def test_a_deleted_row_is_named(chain_url: str) -> None:
    await _append(chain_url, 6)
    await _tamper(chain_url, delete(LOG).where(LOG.c.seq == 3))
    verification = await _verify(chain_url)
    assert (verification.ok, verification.broken_at) == (False, 3)
    assert "missing" in verification.reason


async def test_a_rehashed_row_breaks_the_next_link_and_a_cut_tail_is_named(chain_url: str) -> None:
    await _append(chain_url, 6)
    # Whoever recomputes one row's hash still breaks the next row's prev_hash.
    await _tamper(chain_url, update(LOG).where(LOG.c.seq == 2).values(hash="f" * 64))
    verification = await _verify(chain_url)
    assert (verification.broken_at, verification.ok) == (2, False)
    await _tamper(chain_url, update(LOG).where(LOG.c.seq == 2).values(hash=select(LOG.c.prev_hash).where(LOG.c.seq == 3).scalar_subquery()))
    assert (await _verify(chain_url)).ok
    await _tamper(chain_url, delete(LOG).where(LOG.c.seq >= 5))
    verification = await _verify(chain_url)
    assert (verification.ok, verification.broken_at) == (False, 5)


async def test_the_command_names_the_broken_link(services: Services, capsys) -> None:
    import argparse

    for code in ("hall-1", "hall-2", "hall-3"):
        made = await services.clients["intake"].post(
            "/venues", json={"code": code, "name": code, "kind": "hall"}, headers=services.auth(Role.CLERK, "office-1"))
        assert made.status_code == 201
    loop_free = await asyncio.to_thread(cmd_audit_verify, argparse.Namespace(service="all"), services.settings)
    assert loop_free == 0
    assert "intake: 3 entries, chain intact" in capsys.readouterr().out
    await _tamper(services.settings.database_url("intake"), update(LOG).where(LOG.c.seq == 2).values(caller="someone-else"))
    status = await asyncio.to_thread(cmd_audit_verify, argparse.Namespace(service="intake"), services.settings)
    out = capsys.readouterr().out
    assert status == 1 and "intake: BROKEN at entry 2" in out and "modified" in out
