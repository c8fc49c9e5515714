"""services/common/idempotency.py on a real (SQLite) database, without HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, update

from services.common.auth import Principal, Role
from services.common.db import create_engine, session_factory, utcnow
from services.common.idempotency import (
    IdempotentRequest,
    idempotency_table,
    run_idempotent,
)
from services.common.problems import Problem

metadata = MetaData()
TABLE = idempotency_table(metadata)
CLERK = Principal(subject="office-1", role=Role.CLERK)


@pytest.fixture
async def sessions(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/idem.db")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


def request(key: str | None, body_hash: str = "h1", path: str = "POST /topics") -> IdempotentRequest:
    return IdempotentRequest(key=key, method_path=path, request_hash=body_hash)


async def test_first_answer_is_replayed_and_the_handler_runs_once(sessions) -> None:
    calls = []

    async def handler():
        calls.append(1)
        return 201, {"id": len(calls)}

    async with sessions() as session:
        first = await run_idempotent(session, TABLE, request("k"), CLERK, handler)
        again = await run_idempotent(session, TABLE, request("k"), CLERK, handler)
    assert (first.status_code, json.loads(first.body)) == (201, {"id": 1})
    assert (again.status_code, json.loads(again.body)) == (201, {"id": 1})
    assert again.headers["Idempotent-Replayed"] == "true" and calls == [1]
    # Keys belong to their principal: another caller's same key is a new request.
    async with sessions() as session:
        other = await run_idempotent(session, TABLE, request("k"), Principal("office-2", Role.CLERK), handler)
    assert json.loads(other.body) == {"id": 2}


async def test_same_key_other_request_is_422(sessions) -> None:
    async def handler():
        return 201, {"id": 1}

    async with sessions() as session:
        await run_idempotent(session, TABLE, request("k"), CLERK, handler)
        for other in (request("k", body_hash="h2"), request("k", path="POST /venues")):
            with pytest.raises(Problem) as refused:
                await run_idempotent(session, TABLE, other, CLERK, handler)
            assert refused.value.status == 422 and "Idempotency-Key" in refused.value.detail


async def test_failure_releases_the_key_and_in_progress_is_409(sessions) -> None:
    async def failing():
        raise Problem(422, "Invalid request", "nope")

    async def ok():
        return 200, {"ok": True}

    async with sessions() as session:
        with pytest.raises(Problem):
            await run_idempotent(session, TABLE, request("k"), CLERK, failing)
        assert (await session.execute(select(TABLE))).all() == []
        assert (await run_idempotent(session, TABLE, request("k"), CLERK, ok)).status_code == 200
        # A reservation without an answer: another request is still running...
        await session.execute(update(TABLE).values(status=None, body=None))
        await session.commit()
        with pytest.raises(Problem) as busy:
            await run_idempotent(session, TABLE, request("k"), CLERK, ok)
        assert busy.value.status == 409 and busy.value.headers["Retry-After"] == "1"
        # ...unless it is stale (its process died): then the retry takes over.
        await session.execute(update(TABLE).values(created_at=utcnow() - timedelta(minutes=5)))
        await session.commit()
        assert (await run_idempotent(session, TABLE, request("k"), CLERK, ok)).status_code == 200


async def test_without_a_key_the_handler_just_runs(sessions) -> None:
    async def handler():
        return 201, {"id": 9}

    async with sessions() as session:
        response = await run_idempotent(session, TABLE, request(None), CLERK, handler)
        assert response.status_code == 201 and (await session.execute(select(TABLE))).all() == []
