"""Migration 0002 on a database holding topics from before it: reference data seeded,
old topics keep stage 'submitted', and the backfill gives them what new topics have."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from services.common.db import create_engine, session_factory
from services.common.migrate import upgrade
from services.intake.models import Organiser, Submission, Topic, Venue
from services.intake.topics.index import TopicIndex
from services.intake.topics.service import backfill_legacy_topics


async def test_upgrade_seeds_reference_data_and_backfills_old_topics(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    url = f"sqlite+aiosqlite:///{path}"
    # Alembic runs its own event loop: off this test's loop.
    await asyncio.to_thread(upgrade, "intake", url, "0001")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO topics (title, content, channel, registered_by, created_at) VALUES "
            "('县城公办幼儿园学位不足', '公办幼儿园仅一所，学位约1000个。', 'member_recommended', 'office-1', '2026-11-01 02:00:00')"
        )
    await asyncio.to_thread(upgrade, "intake", url)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            assert await session.scalar(select(func.count()).select_from(Organiser)) >= 10
            kinds = set((await session.scalars(select(Organiser.kind))).all())
            assert kinds == {"special_committee", "sector_studio", "town_studio", "liaison_studio"}
            assert await session.scalar(select(func.count()).select_from(Venue)) >= 4
            old = (await session.scalars(select(Topic))).one()
            assert old.stage == "submitted" and old.signature is None
            index = TopicIndex()
            assert await backfill_legacy_topics(session, index) == 1
            assert await backfill_legacy_topics(session, index) == 0  # done once
            await session.refresh(old)
            assert old.signature and "幼儿园" in old.search_text
            opening = (await session.scalars(select(Submission))).one()
            assert (opening.topic_id, opening.joined_as, opening.submitted_by) == (old.id, "opened", "office-1")
            assert (await index.best_open_match(session, "县城公办幼儿园学位严重不足"))[0] == old.id
    finally:
        await engine.dispose()
