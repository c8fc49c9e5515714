"""Signatures stored before the matching key masked personal data (SIGNATURE_VERSION 1)
are computed again from the topic's text when the index loads them."""

from __future__ import annotations

from pathlib import Path

from services.common.db import create_engine, session_factory
from services.intake.duplicates import SIGNATURE_VERSION, TopicSignature, signature
from services.intake.models import Base
from services.intake.topics.index import TopicIndex
from services.intake.topics.models import Topic


async def test_old_signatures_are_rebuilt_from_the_topic_text(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/intake.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = session_factory(engine)
    title, content = "我是王小明，电话13812345678", "玉蟾街道人民路路灯坏了好几个月。"
    old = signature("13812345678 王小明")
    old_bytes = TopicSignature(old.hashvalues, old.size, old.places, version=1).to_bytes()
    async with sessions() as session:
        session.add(Topic(id=1, title=title, content=content, channel="public_online", registered_by="wx-1",
                          signature=old_bytes))
        await session.commit()
    index = TopicIndex()
    async with sessions() as session:
        match = await index.best_open_match(session, "人民路的路灯一直不亮，晚上走路看不见。")
        await session.commit()
    assert match is not None and match[0] == 1
    async with sessions() as session:
        stored = TopicSignature.from_bytes((await session.get(Topic, 1)).signature)
    assert stored.version == SIGNATURE_VERSION
    assert stored == signature(f"{title}\n{content}")
    await engine.dispose()
