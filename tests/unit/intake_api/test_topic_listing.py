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
import sqlalchemy
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


# --- The PostgreSQL plans for free text (service._text_listing) against a plain reference.

VOCABULARY = ["学校", "安全", "路灯", "绿化", "医院", "停车"]


async def fill_varied(sessions: async_sessionmaker) -> dict[int, tuple[str, str, str, list[tuple[str, str]]]]:
    """400 topics with ids in steps (gaps), frequent and rare words, supporters whose words
    are not in the topic's own text, an opener whose title differs from the topic's."""
    import random

    rng = random.Random(12)
    stored: dict[int, tuple[str, str, str, list[tuple[str, str]]]] = {}
    async with sessions() as session:
        for n in range(400):
            topic_id = 3 + n * 2 + (n // 50) * 7
            words = rng.sample(VOCABULARY[:3], rng.randint(0, 2)) + rng.sample(VOCABULARY[3:], rng.randint(0, 1))
            title = "".join(words) + f"问题{n}"
            content = "无障碍设施" if n % 97 == 5 else "群众反映"
            channel = ["public_online", "member_recommended"][n % 2]
            stage = ["submitted", "research", "closed"][n % 3]
            subs = [(title if n % 11 else f"{rng.choice(VOCABULARY)}变更", content)]
            if rng.random() < 0.2:
                subs.append((f"支持{rng.choice(VOCABULARY)}", f"同意{rng.choice(VOCABULARY)}"))
            session.add(Topic(id=topic_id, title=title, content=content, channel=channel, stage=stage,
                              registered_by="t", search_text=title + content, signature=b"\x01"))
            stored[topic_id] = (title + content, channel, stage, subs)
        await session.flush()
        for topic_id, (_, channel, _, subs) in stored.items():
            for title, content in subs:
                session.add(Submission(topic_id=topic_id, channel=channel, status="accepted", title_raw=title,
                                       content_raw=content, title_normalised=title, content_normalised=content,
                                       submitted_by="t"))
        await session.commit()
    return stored


def reference(stored: dict, terms: list[str], channel: str | None, newest_first: bool) -> list[int]:
    """Every match, in page order, straight from the stored texts."""
    ids = [
        topic_id for topic_id, (own, topic_channel, _, subs) in stored.items()
        if (channel is None or topic_channel == channel)
        and all(term in own or any(term in t or term in c for t, c in subs) for term in terms)
    ]
    return sorted(ids, reverse=newest_first)


QUERIES = ["学校", "安全 路灯", "学校 安全", "绿化", "无障碍设施", "学校 无障碍设施", "停车 学校", "医院",
           "a", "学 校", "变更", "支持 安全", "学 安全", "无障碍设施 医院 学校"]


@pytest.mark.parametrize("mode", ["frequent", "rare", "estimated"])
async def test_free_text_pages_and_totals_match_a_plain_reference(
    sessions: async_sessionmaker, monkeypatch: pytest.MonkeyPatch, mode: str,
) -> None:
    """Every page (from the start and from a deep `after`, both directions) and every
    total equal what a plain filter over the stored texts gives. On PostgreSQL the three
    modes drive both branches of _text_listing (own matches in id order or through the
    index), narrow and wide windows, and the capped and exact counts; on SQLite they
    are one plan."""
    stored = await fill_varied(sessions)
    monkeypatch.setattr(service, "TEXT_TOTAL_CAP", 25)
    if mode == "frequent":
        monkeypatch.setattr(service, "TEXT_WINDOW_IDS", 40)

        async def share(session, terms):
            return 0.5, 400.0
        monkeypatch.setattr(service, "own_text_share", share)
    elif mode == "rare":
        monkeypatch.setattr(service, "TEXT_WINDOW_IDS", 60)  # some windows narrow, some wide
        async def no_share(session, terms):
            return None
        monkeypatch.setattr(service, "own_text_share", no_share)
    else:
        async with sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(sqlalchemy.text("ANALYZE topics"))
                await session.commit()
                service._bigram_stats.clear()
                assert await service.own_text_share(session, ["学校"]) is not None
    middle = sorted(stored)[len(stored) // 2]
    checked = 0
    for q in QUERIES:
        terms = search_terms(q)
        for channel in (None, "public_online"):
            for newest_first in (False, True):
                expected = reference(stored, terms, channel, newest_first)
                for after in (None, middle, middle + 1):
                    want = [i for i in expected if after is None or (i < after if newest_first else i > after)]
                    got: list[int] = []
                    cursor = after
                    async with sessions() as session:
                        for _ in range(100):
                            page = await list_topics(session, q=q, channel=channel, newest_first=newest_first,
                                                     after=cursor, limit=7)
                            assert (page.total, page.total_capped) == (min(len(expected), 25), len(expected) > 25), \
                                (q, channel, newest_first, after)
                            got += [t.id for t in page.items]
                            if page.next_after is None:
                                break
                            cursor = page.next_after
                    assert got == want, (q, channel, newest_first, after)
                    checked += len(got)
    assert checked > 1000  # the data holds matches to page through


async def test_the_reference_is_what_a_plain_query_returns(sessions: async_sessionmaker) -> None:
    """The Python reference above agrees with a straightforward SQL filter (each term in
    the topic's text or in one of its submissions', no caps, no windows)."""
    from sqlalchemy import exists, or_, select

    stored = await fill_varied(sessions)
    async with sessions() as session:
        for q in QUERIES:
            conditions = [
                or_(Topic.search_text.contains(term, autoescape=True),
                    exists().where(Submission.topic_id == Topic.id,
                                   or_(Submission.title_normalised.contains(term, autoescape=True),
                                       Submission.content_normalised.contains(term, autoescape=True))))
                for term in search_terms(q)
            ]
            ids = list((await session.scalars(select(Topic.id).where(*conditions).order_by(Topic.id))).all())
            assert ids == reference(stored, search_terms(q), None, False), q
