"""GET /public/commitments over ASGI: no token, no personal data, only published
replies, satisfaction with the handling work and with the outcome apart, opaque cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.common.db import create_engine, session_factory
from services.common.problems import install_problem_handlers
from services.common.settings import Settings
from services.evaluation.base import Base
from services.evaluation.commitments.models import CoHandler, Commitment, CommitmentAction, CommitmentReply
from services.evaluation.public.views import router

SETTINGS = Settings(jwt_secret="k" * 40)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/evaluation.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    app = FastAPI()
    app.state.settings = SETTINGS
    app.state.sessions = session_factory(engine)
    install_problem_handlers(app)
    app.include_router(router)
    async with app.state.sessions() as session:
        for n in range(3):
            session.add(Commitment(
                consultation_topic_id=7 if n < 2 else 8, department="教育体育局", content=f"新建公办幼儿园 {n}",
                original_due_at=NOW + timedelta(seconds=30), due_at=NOW + timedelta(seconds=30), policy={},
                created_by="clerk", created_at=NOW, assigned_at=NOW, working_day_seconds=1.5,
            ))
        await session.flush()
        session.add(CoHandler(commitment_id=1, department="自然资源局", due_at=NOW + timedelta(seconds=20)))
        for n, (status, rating, handling) in enumerate(
            [("published", "satisfied", "basically_satisfied"), ("withheld", "unsatisfied", None)], start=1
        ):
            action = CommitmentAction(commitment_id=1, kind="reply", payload={}, actor="d", actor_role="department",
                                      outcome="accepted")
            session.add(action)
            await session.flush()
            session.add(CommitmentReply(
                commitment_id=1, action_id=action.id, department="教育体育局", reply_class="B" if n == 1 else "A",
                text="内部答复 联系人张三 13800138000", review_due_at=NOW, review_status=status,
                disclosure="summary" if status == "published" else None,
                public_text="已选址两处，正在设计。" if status == "published" else None,
                published_at=NOW if status == "published" else None,
                withheld_reason="涉及未公开的规划" if status == "withheld" else None,
            ))
            session.add(CommitmentAction(commitment_id=1, kind="satisfaction", actor="c", actor_role="committee",
                                         outcome="accepted", payload={"rating": rating, "handling_rating": handling}))
        await session.commit()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://evaluation") as c:
        yield c
    await engine.dispose()


async def test_a_page_without_a_token_shows_only_published_replies(client: httpx.AsyncClient) -> None:
    page = await client.get("/public/commitments", params={"topic_id": 7})
    assert page.status_code == 200, page.text
    body = page.json()
    assert [c["id"] for c in body["items"]] == [1, 2] and body["next_cursor"] is None
    first = body["items"][0]
    assert first["lead_department"] == "教育体育局" and first["co_handlers"] == ["自然资源局"]
    assert first["due_in_working_days"] == 20  # 30 s at 1.5 s per working day
    assert first["replies"] == [{"reply_class": "B", "published_at": "2026-03-02T01:00:00Z",
                                 "text": "已选址两处，正在设计。", "disclosure": "summary"}]
    assert first["satisfaction"] == {
        "handling": {"ratings": 1, "satisfied": 0, "basically_satisfied": 1, "unsatisfied": 0},
        "outcome": {"ratings": 2, "satisfied": 1, "basically_satisfied": 0, "unsatisfied": 1},
    }
    assert "13800138000" not in page.text and "张三" not in page.text and "涉及未公开" not in page.text


async def test_the_cursor_pages_and_a_forged_one_is_422(client: httpx.AsyncClient) -> None:
    first = (await client.get("/public/commitments", params={"limit": 2})).json()
    assert [c["id"] for c in first["items"]] == [1, 2] and first["next_cursor"]
    second = (await client.get("/public/commitments", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [c["id"] for c in second["items"]] == [3] and second["next_cursor"] is None
    forged = await client.get("/public/commitments", params={"cursor": "abc"})
    assert forged.status_code == 422 and forged.headers["content-type"] == "application/problem+json"
    assert (await client.get("/public/commitments", params={"limit": 101})).status_code == 422
