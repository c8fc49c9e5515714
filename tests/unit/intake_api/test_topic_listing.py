"""Topic listings on a real database (SQLite and PostgreSQL, migrated by Alembic):
several free-text terms each match, supporters' words count, totals are capped, and on
PostgreSQL terms of two characters or more go through the bigram indexes of migration 0005_speed."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.common.db import create_engine, session_factory
from services.common.migrate import upgrade
from services.intake.topics import service
from services.intake.topics.models import Submission, Topic
from services.intake.topics.service import list_topics, search_terms
from tests.stack import POSTGRES_ADMIN_URL, postgres_unreachable_reason


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[async_sessionmaker]:
    import asyncpg

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
        name = None
    else:
        reason = postgres_unreachable_reason()
        if reason:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"CI must run listings on PostgreSQL: {reason}")
            pytest.skip(reason)
        name = f"xs_listing_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    await asyncio.to_thread(upgrade, "intake", url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
        if name:
            admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


TEXTS = [
    ("学校门口安全隐患", "上下学拥堵"),          # 1: both terms in the topic
    ("学校食堂", "饭菜质量"),                    # 2: 学校 only...
    ("路灯不亮", "晚上出行不便"),                # 3: nothing
    ("希望增设无障碍设施", "方便老人出行"),      # 4: the long term
]


async def fill(sessions: async_sessionmaker, extra_topics: int = 0) -> None:
    async with sessions() as session:
        for i, (title, content) in enumerate(TEXTS, start=1):
            session.add(Topic(id=i, title=title, content=content, channel="public_online", registered_by="t",
                              search_text=title + content, signature=b"\x01"))
        for i in range(len(TEXTS) + 1, len(TEXTS) + 1 + extra_topics):
            session.add(Topic(id=i, title="绿化", content="绿化", channel="member_recommended", registered_by="t",
                              search_text="绿化绿化", signature=b"\x01"))
        await session.flush()
        for i, (title, content) in enumerate(TEXTS, start=1):
            session.add(Submission(topic_id=i, channel="public_online", status="accepted", title_raw=title,
                                   content_raw=content, title_normalised=title, content_normalised=content,
                                   submitted_by="t"))
        # ...and a supporter of topic 2 wrote about safety: 2 matches "学校 安全" too.
        session.add(Submission(topic_id=2, channel="public_online", status="accepted", title_raw="同意",
                               content_raw="食品安全很重要", title_normalised="同意", content_normalised="食品安全很重要",
                               submitted_by="t"))
        await session.commit()


def test_terms_are_split_before_normalising() -> None:
    assert search_terms("学校 安全") == ["学校", "安全"]
    assert search_terms("學校　安全 学校") == ["学校", "安全"]  # full-width space, Traditional, repeated
    assert search_terms("   ") == []


async def test_every_term_must_match_in_the_topic_or_a_submission(sessions: async_sessionmaker) -> None:
    await fill(sessions)
    async with sessions() as session:
        both = await list_topics(session, q="学校 安全", after=None, limit=20)
        long_term = await list_topics(session, q="无障碍设施", after=None, limit=20)
        none = await list_topics(session, q="学校 路灯", after=None, limit=20)
        by_supporter = await list_topics(session, q="食品安全", after=None, limit=20)
    assert [t.id for t in both.items] == [1, 2] and (both.total, both.total_capped) == (2, False)
    assert [t.id for t in long_term.items] == [4]
    assert none.items == [] and none.total == 0
    assert [t.id for t in by_supporter.items] == [2]


async def test_totals_are_exact_up_to_the_cap(sessions: async_sessionmaker, monkeypatch: pytest.MonkeyPatch) -> None:
    await fill(sessions, extra_topics=6)
    monkeypatch.setattr(service, "TOTAL_CAP", 5)
    monkeypatch.setattr(service, "TEXT_TOTAL_CAP", 3)
    async with sessions() as session:
        plain = await list_topics(session, after=None, limit=2)
        text = await list_topics(session, q="绿化", after=None, limit=2)
        few = await list_topics(session, channel="public_online", after=None, limit=2)
        second = await list_topics(session, channel="public_online", after=few.next_after, limit=2)
    assert (plain.total, plain.total_capped) == (5, True)
    assert (text.total, text.total_capped) == (3, True)
    assert (few.total, few.total_capped) == (4, False)
    assert [t.id for t in few.items + second.items] == [1, 2, 3, 4] and second.next_after is None
