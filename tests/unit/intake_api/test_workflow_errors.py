"""The one error mapping of the workflow clients, over ASGI with a real dev server:
a consultation that has ended answers 409 naming its stage (and keeps nothing), Temporal
down answers 503 with Retry-After saying whether the record was stored and will be
delivered, and the reconciler then delivers it. Plus the mapping of each Temporal error
class, and evaluation's department action while Temporal is down (stored → 503)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.auth import Role, mint_token
from services.common.search_attributes import CONSULTATION_STAGE
from services.common.settings import Settings
from services.common.workflow_errors import TemporalUnavailable, WorkflowEnded, mapped
from services.intake.base import Base
from services.intake.consultation_client import ConsultationClient
from services.intake.lifecycle import service as lifecycle
from services.intake.lifecycle.models import ResearchReport
from services.intake.lifecycle.views import router as lifecycle_router
from services.intake.meetings.views import router as meetings_router
from services.intake.topics.models import Topic
from workflows.activities import NoticeRequest, RecordEventInput, TopicStage
from workflows.consultation import ConsultationWorkflow, DecisionInput

QUEUE = f"errors-{uuid.uuid4().hex[:8]}"
SETTINGS = Settings(jwt_secret="k" * 40, temporal_task_queue=QUEUE)
RESEARCH = {"summary": "调研发现幼儿园学位缺口约900个。", "expertise": ["学前教育"], "exclude_departments": []}
from tests.router_app import TemporalConnection, asgi_client, router_app


@activity.defn(name="record_consultation_event")
async def record(params: RecordEventInput) -> int:
    return 1


@activity.defn(name="send_notice")
async def notice(params: NoticeRequest) -> None:
    return None


@activity.defn(name="mirror_topic_stage")
async def mirror(params: TopicStage) -> None:
    return None


def auth(role: Role = Role.CLERK) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(SETTINGS, role=role, subject="clerk-1")}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with router_app(tmp_path / "intake.db", Base.metadata, [lifecycle_router, meetings_router],
                          settings=SETTINGS, temporal=TemporalConnection(None)) as app:
        yield app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "intake") as c:
        yield c


async def new_topic(app: FastAPI, *, started: bool) -> Topic:
    # A random id: the dev server is shared by the session, workflow ids must not collide.
    topic = Topic(id=random.randint(10**6, 10**9), title="学前教育资源配置", content="学位不足。", channel="public_online",
                  registered_by="clerk-1", workflow_started_at=datetime.now(UTC) if started else None)
    async with app.state.sessions() as session:
        session.add(topic)
        await session.commit()
    return topic


async def count_reports(app: FastAPI, delivery: str | None = None) -> int:
    async with app.state.sessions() as session:
        query = select(func.count()).select_from(ResearchReport)
        if delivery:
            query = query.where(ResearchReport.delivery == delivery)
        return await session.scalar(query) or 0


async def test_ended_consultation_answers_409_naming_its_stage_and_keeps_nothing(
    env: WorkflowEnvironment, app: FastAPI, http: httpx.AsyncClient
) -> None:
    topic = await new_topic(app, started=False)
    async with Worker(env.client, task_queue=QUEUE, workflows=[ConsultationWorkflow], activities=[record, notice, mirror]):
        client = ConsultationClient(env.client, SETTINGS)
        async with app.state.sessions() as session:
            assert await client.start(session, await session.get(Topic, topic.id))
        await client.update(topic.id, ConsultationWorkflow.decide, DecisionInput(decision_id=1, outcome="rejected"),
                            update_id="decision-1", stored=True)
        await env.client.get_workflow_handle(f"consultation-{topic.id}").result()
        app.state.temporal = TemporalConnection(env.client)

        research = await http.post(f"/topics/{topic.id}/research-completion", json=RESEARCH, headers=auth())
        answer = await http.post(f"/topics/{topic.id}/invitations/5/answer", json={"accepted": True}, headers=auth())
        # The connection was not reset: the same client still gets answers.
        status = await http.get(f"/topics/{topic.id}/consultation", headers=auth())

    assert status.status_code == 200 and status.json()["stage"] == "rejected"
    for response in (research, answer):
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"].endswith("/workflow-ended") and body["stage"] == "rejected" and "rejected" in body["detail"]
    assert await count_reports(app) == 0  # withdrawn: the report was never taken


async def test_temporal_down_answers_503_stored_then_the_reconciler_delivers(
    env: WorkflowEnvironment, app: FastAPI, http: httpx.AsyncClient
) -> None:
    topic = await new_topic(app, started=False)
    first = await http.post(f"/topics/{topic.id}/research-completion", json=RESEARCH, headers=auth())
    assert first.status_code == 503, first.text
    assert first.headers["retry-after"] == "5" and first.headers["content-type"] == "application/problem+json"
    assert (first.json()["stored"], first.json()["will_be_delivered"]) == (True, True)
    # Pressed again: the pending report is re-sent, not stored twice.
    again = await http.post(f"/topics/{topic.id}/research-completion", json=RESEARCH, headers=auth())
    assert again.status_code == 503 and await count_reports(app, "pending") == 1
    # An invitation answer has no record in intake: nothing stored.
    answer = await http.post(f"/topics/{topic.id}/invitations/5/answer", json={"accepted": True}, headers=auth())
    assert answer.status_code == 503 and (answer.json()["stored"], answer.json()["will_be_delivered"]) == (False, False)
    status = await http.get(f"/topics/{topic.id}/consultation", headers=auth())
    assert status.status_code == 503 and "retry-after" in status.headers

    # Temporal back: the topic's consultation reaches research, the reconciler delivers.
    async with Worker(env.client, task_queue=QUEUE, workflows=[ConsultationWorkflow], activities=[record, notice, mirror]):
        client = ConsultationClient(env.client, SETTINGS)
        async with app.state.sessions() as session:
            assert await client.start(session, await session.get(Topic, topic.id))
        await client.update(topic.id, ConsultationWorkflow.decide,
                            DecisionInput(decision_id=2, outcome="accepted", format="plenary", organiser="cppcc-office",
                                          plan_year=2031), update_id="decision-2", stored=True)
        handle = env.client.get_workflow_handle(f"consultation-{topic.id}")
        for _ in range(100):
            if (await handle.query(ConsultationWorkflow.status)).stage == "research":
                break
            await asyncio.sleep(0.1)
        async with app.state.sessions() as session:
            settled = await lifecycle.deliver_pending(session, client, older_than=timedelta(0))
        assert settled == 1 and await count_reports(app, "delivered") == 1
        for _ in range(100):
            stage = (await handle.query(ConsultationWorkflow.status)).stage
            if stage == "meeting":
                break
            await asyncio.sleep(0.1)
        assert stage == "meeting"  # plenary: no draw; the research report was taken
        await handle.terminate("test done")


@pytest.mark.parametrize(
    "error",
    [
        WorkflowUpdateRPCTimeoutOrCancelledError(),
        RPCTimeoutOrCancelledError("timed out"),
        RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""),
        RPCError("deadline", RPCStatusCode.DEADLINE_EXCEEDED, b""),
    ],
    ids=["update-rpc-timeout", "rpc-timeout", "unavailable", "deadline"],
)
async def test_every_transport_failure_is_503_with_retry_after(error: Exception) -> None:
    async def call() -> None:
        raise error

    class Handle:
        async def describe(self) -> None:
            raise AssertionError("only NOT_FOUND asks how the workflow ended")

    for stored in (True, False):
        with pytest.raises(TemporalUnavailable) as mapped_error:
            await mapped(call, handle=Handle(), what="consultation", stage_key=CONSULTATION_STAGE,  # type: ignore[arg-type]
                         stored=stored)
        problem = mapped_error.value
        assert problem.status == 503 and problem.headers == {"Retry-After": "5"}
        assert problem.extra == {"stored": stored, "will_be_delivered": stored}
    with pytest.raises(TemporalUnavailable):
        await mapped(call, handle=None, what="consultation", stage_key=CONSULTATION_STAGE, stored=False)


def test_ended_is_a_409_problem_naming_the_stage() -> None:
    problem = WorkflowEnded("follow-up", "closed")
    assert problem.status == 409 and problem.extra == {"stage": "closed"} and "closed" in (problem.detail or "")


async def test_unknown_expertise_is_refused_at_the_edge_before_anything_is_stored(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    """Talent's vocabulary is checked by intake: 422 naming the field and the rule, no
    report stored, the workflow never asked (Temporal is down here: it is not reached)."""
    topic = await new_topic(app, started=True)
    for path in (f"/topics/{topic.id}/research-completion", f"/topics/{topic.id}/consultation/resume"):
        body = {**RESEARCH, "expertise": ["学前教育", "炼金术"]}
        response = await http.post(path, json=body if path.endswith("completion") else {"research": body},
                                   headers=auth())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        fields = {(e["field"], e["rule"]) for e in response.json()["errors"]}
        assert any(field.endswith("expertise.1") and rule == "literal_error" for field, rule in fields), fields
    assert await count_reports(app) == 0
