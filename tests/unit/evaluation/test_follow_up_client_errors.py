"""A department's action while Temporal is down (issue 9: it used to be a 500 although
the action was stored): 503 with Retry-After, ``stored: true, will_be_delivered: true``,
the action kept as pending; the same request again re-sends it, never stores it twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.common.auth import Role, mint_token
from services.common.db import create_engine, session_factory
from services.common.problems import Problem, install_problem_handlers
from services.common.settings import Settings
from services.evaluation.base import Base
from services.evaluation.commitments.models import Commitment, CommitmentAction
from services.evaluation.commitments.views import router

SETTINGS = Settings(jwt_secret="k" * 40)
DEPARTMENT = "教育体育局"


class Down:
    async def client(self) -> None:
        raise Problem(503, "Temporal unavailable", "down")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/evaluation.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    app = FastAPI()
    app.state.settings = SETTINGS
    app.state.sessions = session_factory(engine)
    app.state.temporal = Down()
    install_problem_handlers(app)
    app.include_router(router)
    yield app
    await engine.dispose()


async def test_department_action_while_temporal_is_down_is_503_stored(app: FastAPI) -> None:
    due = datetime.now(UTC) + timedelta(days=30)
    async with app.state.sessions() as session:
        commitment = Commitment(consultation_topic_id=1, department=DEPARTMENT, content="新建3所公办幼儿园",
                                original_due_at=due, due_at=due, policy={}, created_by="clerk",
                                workflow_started_at=datetime.now(UTC))
        session.add(commitment)
        await session.commit()
    headers = {"Authorization": "Bearer " + mint_token(SETTINGS, role=Role.DEPARTMENT, subject="d", department=DEPARTMENT),
               "Idempotency-Key": "progress-1"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://evaluation") as http:
        for _ in range(2):
            response = await http.post(f"/commitments/{commitment.id}/progress-reports",
                                       json={"content": "已完成选址", "percent_done": 20}, headers=headers)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert (body["stored"], body["will_be_delivered"]) == (True, True)
    async with app.state.sessions() as session:
        actions = (await session.scalars(select(CommitmentAction))).all()
    assert [(a.kind, a.outcome) for a in actions] == [("progress_report", "pending")]
