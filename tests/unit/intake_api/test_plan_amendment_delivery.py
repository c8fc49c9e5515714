"""A plan edit follows the delivery rule (issue 9): the new values are committed first
(``delivery = "amending"``), then the ``amend_plan`` update is sent. Temporal down →
503 saying it is stored and will be delivered, the edit kept; the consultation ended →
409 naming the stage and the old values back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from services.common.auth import Role, mint_token
from services.common.settings import Settings
from services.intake.base import Base
from services.intake.decisions.models import Decision
from services.intake.decisions.views import router
from services.intake.reference.models import Organiser
from services.intake.topics.models import Topic

SETTINGS = Settings(jwt_secret="k" * 40)
from tests.router_app import (
    OneHandleClient,
    TemporalConnection,
    asgi_client,
    router_app,
)


class Handle:
    def __init__(self, error: RPCError, ended_stage: str | None) -> None:
        self.error, self.ended_stage = error, ended_stage
        self.sent: list[str] = []

    async def execute_update(self, update, arg, *, id: str, **_: object):
        self.sent.append(id)
        raise self.error

    async def describe(self) -> SimpleNamespace:
        running = self.ended_stage is None
        return SimpleNamespace(
            status=WorkflowExecutionStatus.RUNNING if running else WorkflowExecutionStatus.COMPLETED,
            typed_search_attributes=SimpleNamespace(get=lambda key: self.ended_stage))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with router_app(tmp_path / "intake.db", Base.metadata, [router], settings=SETTINGS) as app:
        await seed(app)
        yield app


async def seed(app: FastAPI) -> None:
    async with app.state.sessions() as session:
        session.add_all([Organiser(id=1, code="liaison-studio", name="联络工作室", kind="studio"),
                         Organiser(id=2, code="economy-committee", name="经济委", kind="committee"),
                         Topic(id=7, title="停车难", content="县城停车难。", channel="public_online", registered_by="c",
                               stage="research")])
        await session.flush()
        session.add(Decision(topic_id=7, outcome="accepted", format="sector_micro", organiser_id=1, plan_year=2033,
                             decided_by="chair", delivery="delivered"))
        await session.commit()


async def patch(app: FastAPI, handle: Handle) -> httpx.Response:
    app.state.temporal = TemporalConnection(OneHandleClient(handle))
    headers = {"Authorization": "Bearer " + mint_token(SETTINGS, role=Role.CHAIR, subject="chair")}
    async with asgi_client(app, "intake") as http:
        return await http.patch("/plans/2033/entries/7", json={"organiser": "economy-committee"}, headers=headers)


async def stored(app: FastAPI) -> tuple[int | None, str]:
    async with app.state.sessions() as session:
        decision = await session.get(Decision, 1)
        assert decision is not None
        return decision.organiser_id, decision.delivery


async def test_temporal_down_keeps_the_edit_pending_and_says_so(app: FastAPI) -> None:
    handle = Handle(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""), None)
    response = await patch(app, handle)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert (body["stored"], body["will_be_delivered"], body["delivery"]) == (True, True, "amending")
    assert await stored(app) == (2, "amending")  # committed before the update was sent
    assert handle.sent == ["amend-1-sector_micro-economy-committee-2033"]


async def test_an_ended_consultation_restores_the_old_values(app: FastAPI) -> None:
    response = await patch(app, Handle(RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b""),
                                       "closed"))
    assert response.status_code == 409, response.text
    assert response.json()["stage"] == "closed" and response.json()["type"].endswith("/workflow-ended")
    assert await stored(app) == (1, "delivered")
