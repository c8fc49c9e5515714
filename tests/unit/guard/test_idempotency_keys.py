"""The key store itself (services/common/idempotency.py) on a real SQLite database:
a twin waits for the first answer, a crashed reservation is taken over, only 2xx is kept."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, update

from services.common import idempotency
from services.common.db import create_engine, session_factory, utcnow
from services.common.idempotency import (
    IdempotencyKeys,
    StoredAnswer,
    fingerprint,
    idempotency_table,
)
from services.common.problems import Problem

TABLE = idempotency_table(MetaData())
ROUTE = "POST /commitments/{commitment_id}/completion"


@pytest.fixture
async def keys(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/keys.db")
    async with engine.begin() as conn:
        await conn.run_sync(TABLE.metadata.create_all)
    yield IdempotencyKeys(TABLE, session_factory(engine))
    await engine.dispose()


async def settle(keys: IdempotencyKeys, caller: str, key: str, answer: StoredAnswer) -> None:
    """As the guard does, in the write's own session (here one holding nothing else)."""
    async with keys.sessions() as session:
        await keys.settle(session, caller, ROUTE, key, answer)
        await session.commit()


ANSWER = StoredAnswer(201, {"content-type": "application/json", "location": "/x/1"}, b'{"id": 1}')


async def test_a_twin_waits_for_the_first_answer(keys: IdempotencyKeys) -> None:
    assert await keys.reserve("dept|A|u", ROUTE, "k", "h") is None

    async def finish_soon() -> None:
        await asyncio.sleep(0.2)
        await settle(keys, "dept|A|u", "k", ANSWER)

    twin, _ = await asyncio.gather(keys.reserve("dept|A|u", ROUTE, "k", "h"), finish_soon())
    assert twin is not None and (twin.status, twin.body) == (201, b'{"id": 1}')
    assert twin.headers["location"] == "/x/1" and twin.headers["idempotent-replayed"] == "true"


async def test_a_twin_gets_409_while_the_first_still_runs(keys: IdempotencyKeys, monkeypatch) -> None:
    monkeypatch.setattr(idempotency, "WAIT_FOR_TWIN", 0.1)
    assert await keys.reserve("c", ROUTE, "k", "h") is None
    with pytest.raises(Problem) as running:
        await keys.reserve("c", ROUTE, "k", "h")
    assert running.value.status == 409 and running.value.headers == {"Retry-After": "1"}
    assert running.value.type.endswith("request-in-progress")


async def test_a_crashed_reservation_is_taken_over_and_failures_release(keys: IdempotencyKeys) -> None:
    assert await keys.reserve("c", ROUTE, "k", "h") is None
    async with keys.sessions() as session:  # the process that reserved it died long ago
        await session.execute(update(TABLE).values(created_at=utcnow() - idempotency.STALE_AFTER - timedelta(seconds=1)))
        await session.commit()
    assert await keys.reserve("c", ROUTE, "k", "h") is None
    await settle(keys, "c", "k", StoredAnswer(409, {}, b"{}"))  # refused: released
    async with keys.sessions() as session:
        assert (await session.execute(select(TABLE))).all() == []
    assert await keys.reserve("c", ROUTE, "k", "h2") is None  # the corrected request runs


def test_fingerprint_ignores_json_layout_and_multipart_boundaries_not_content() -> None:
    a = fingerprint("/p", "b=2&a=1", "application/json", json.dumps({"x": 1, "y": [1, 2]}).encode())
    b = fingerprint("/p", "a=1&b=2", "application/json", b'{ "y": [1,2], "x": 1 }')
    assert a == b
    assert a != fingerprint("/p", "a=1&b=2", "application/json", b'{"y": [2, 1], "x": 1}')
    assert a != fingerprint("/q", "a=1&b=2", "application/json", b'{"y": [1, 2], "x": 1}')
    part = '--{0}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nrow\r\n--{0}--\r\n'
    first = fingerprint("/p", "", "multipart/form-data; boundary=aaa", part.format("aaa").encode())
    second = fingerprint("/p", "", "multipart/form-data; boundary=bbb", part.format("bbb").encode())
    assert first == second
    assert first != fingerprint("/p", "", "multipart/form-data; boundary=bbb", part.format("bbb").replace("row", "wor").encode())
