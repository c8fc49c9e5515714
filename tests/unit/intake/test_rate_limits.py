"""The public column's hard limits hold under concurrency, on SQLite and PostgreSQL:
of 30 simultaneous requests exactly the limit is let through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import session_factory
from services.intake.submissions.models import RateCounter
from services.intake.submissions.rate_limits import (
    ADDRESS_LIMITS,
    RESIDENT_LIMITS,
    count_request,
)
from tests.stack import database_engine

NOW = datetime(2026, 11, 30, 12, 0, 20, tzinfo=UTC)  # 40 s left in its minute
PER_MINUTE = ADDRESS_LIMITS[0].max_count


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with database_engine(request.param, "intake", tmp_path, "the rate limits") as engine:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: RateCounter.__table__.create(c))
        yield session_factory(engine)


async def burst(sessions, n: int, *, address, resident, now: datetime = NOW) -> list:
    async def one(i: int):
        async with sessions() as session:
            return await count_request(session, now, address=address(i), resident=resident(i))

    return await asyncio.gather(*(one(i) for i in range(n)))


async def test_concurrent_burst_from_one_address_lets_exactly_the_limit_through(sessions) -> None:
    results = await burst(sessions, 30, address=lambda i: "203.0.113.5", resident=lambda i: f"resident-{i}")
    assert sum(r is None for r in results) == PER_MINUTE
    refused = [r for r in results if r is not None]
    assert {r.identity for r in refused} == {"address"}
    # Retry-After: the end of the minute, and past the hour's 20 (refusals count) its end.
    assert sorted({r.retry_after_seconds for r in refused}) == [40, 3580]


async def test_concurrent_burst_of_one_resident_from_many_addresses(sessions) -> None:
    results = await burst(sessions, 30, address=lambda i: f"198.51.100.{i}", resident=lambda i: "resident-1")
    assert sum(r is None for r in results) == RESIDENT_LIMITS[0].max_count
    assert {r.identity for r in results if r is not None} == {"resident"}


async def test_refused_requests_count_and_windows_end(sessions) -> None:
    await burst(sessions, 30, address=lambda i: "203.0.113.7", resident=lambda i: f"r-{i}")
    # The next minute: the hour's 20 are spent (refused requests counted too).
    later = await burst(sessions, 1, address=lambda i: "203.0.113.7", resident=lambda i: "r-new",
                        now=NOW + timedelta(minutes=1))
    assert later[0] is not None and later[0].limit.per == timedelta(hours=1)
    # Another address is untouched, and the next day starts afresh.
    assert (await burst(sessions, 1, address=lambda i: "203.0.113.8", resident=lambda i: "r-x"))[0] is None
    next_day = await burst(sessions, 1, address=lambda i: "203.0.113.7", resident=lambda i: "r-y",
                           now=NOW + timedelta(days=1))
    assert next_day[0] is None
    # The first request of a new day dropped the windows that had ended.
    async with sessions() as session:
        windows = (await session.scalars(select(RateCounter.expires_at))).all()
    assert min(windows) >= NOW + timedelta(days=1) - timedelta(days=1)
