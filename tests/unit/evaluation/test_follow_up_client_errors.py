"""A department's action while Temporal is down (issue 9: it used to be a 500 although
the action was stored): 503 with Retry-After, ``stored: true, will_be_delivered: true``,
the action kept as pending; the same request again (same Idempotency-Key) gets the same
answer from the request guard, never stores it twice.
And staff resuming a follow-up that needs attention (待处理), once per episode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.common.auth import Role, mint_token
from services.common.settings import Settings
from services.evaluation.base import Base
from services.evaluation.commitments.models import Commitment, CommitmentAction
from services.evaluation.commitments.views import router
from workflows.attention import Attention
from workflows.followup_types import FollowUpStatus

SETTINGS = Settings(jwt_secret="k" * 40)
DEPARTMENT = "教育体育局"
from tests.router_app import (
    OneHandleClient,
    TemporalConnection,
    asgi_client,
    router_app,
)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with router_app(tmp_path / "evaluation.db", Base.metadata, [router], settings=SETTINGS,
                          temporal=TemporalConnection(None), guard=True) as app:
        yield app


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
    async with asgi_client(app, "evaluation") as http:
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


async def test_a_guarded_write_decodes_its_token_once(app: FastAPI, monkeypatch) -> None:
    """The write guard hands the principal it decoded to the route (GUARDED_PRINCIPAL):
    the route's current_principal does not decode the same token a second time."""
    from services.common import auth, writes

    decoded: list[str] = []
    real_decode = auth.decode_token

    def counting(settings: Settings, token: str) -> auth.Principal:
        decoded.append(token)
        return real_decode(settings, token)

    monkeypatch.setattr(auth, "decode_token", counting)
    monkeypatch.setattr(writes, "decode_token", counting)
    token = mint_token(SETTINGS, role=Role.DEPARTMENT, subject="d", department=DEPARTMENT)
    async with asgi_client(app, "evaluation") as http:
        response = await http.post("/commitments/404/progress-reports", json={"content": "已完成选址", "percent_done": 20},
                                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "once-1"})
    assert response.status_code == 404, response.text  # through the guard and the route
    assert decoded == [token]


class Handle:
    """A follow-up's handle that needs attention until resumed."""

    def __init__(self) -> None:
        self.attention: Attention | None = Attention(step="plan_follow_up", reason="evaluation answered 422",
                                                     since="2026-11-30T08:00:00+00:00", episode=2)
        self.updates: list[str] = []

    def status(self) -> FollowUpStatus:
        return FollowUpStatus(commitment_id=1, stage="open", due_at="2026-12-30T09:30:00+00:00", level=0, generation=0,
                              reopenings=0, fired=[], next_step=None, next_fire_at=None, provisional=False,
                              needs_attention=self.attention)

    async def query(self, *args: object, **kwargs: object) -> FollowUpStatus:
        return self.status()

    async def execute_update(self, update: object, arg: object, *, id: str, **kwargs: object) -> FollowUpStatus:
        self.updates.append(id)
        self.attention = None
        return self.status()


async def test_staff_resume_a_follow_up_that_needs_attention_once(app: FastAPI) -> None:
    due = datetime.now(UTC) + timedelta(days=30)
    async with app.state.sessions() as session:
        commitment = Commitment(consultation_topic_id=1, department=DEPARTMENT, content="新建3所公办幼儿园",
                                original_due_at=due, due_at=due, policy={}, created_by="clerk",
                                workflow_started_at=datetime.now(UTC))
        session.add(commitment)
        await session.commit()
    handle = Handle()
    app.state.temporal = TemporalConnection(OneHandleClient(handle))
    headers = {"Authorization": "Bearer " + mint_token(SETTINGS, role=Role.CLERK, subject="c")}
    async with asgi_client(app, "evaluation") as http:
        resumed = await http.post(f"/commitments/{commitment.id}/follow-up/resume", headers=headers)
        again = await http.post(f"/commitments/{commitment.id}/follow-up/resume", headers=headers)
        department = await http.post(f"/commitments/{commitment.id}/follow-up/resume", headers={
            "Authorization": "Bearer " + mint_token(SETTINGS, role=Role.DEPARTMENT, subject="d", department=DEPARTMENT)})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["needs_attention"] is None and handle.updates == [f"resume-{commitment.id}-2"]
    assert again.status_code == 409 and again.json()["stage"] == "open"  # nothing waits any more
    assert department.status_code == 403
