"""The chair's decisions and the annual plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.types import DbId
from services.common.workflow_errors import TemporalUnavailable

from ..deps import Index, READERS, respond
from ..topics.index import TopicIndex
from . import service
from .schemas import (
    DecisionCreate,
    DecisionRead,
    MergeCreate,
    Outcome,
    PlanEntryUpdate,
    PlanRead,
)

router = APIRouter(tags=["decisions and plans 主席会议 · 年度协商计划"])

DECIDERS = (Role.CHAIR, Role.CLERK)  # the office records the chair's meeting's decisions
YearPath = Annotated[int, Path(ge=2000, le=2100)]


async def decide_and_deliver(
    request: Request, session: AsyncSession, index: TopicIndex, topic_id: int, data: DecisionCreate,
    principal: Principal,
) -> JSONResponse:
    """Store the decision, then deliver it to the consultation. The one answer of the
    delivery rule: 201 delivered, else 503 saying it is stored (pending) and will be
    delivered by the reconciler, so the chair need not resend."""
    temporal = await request.app.state.temporal.client()  # 503 before anything is stored
    decision, delivered = await service.decide(session, temporal, request.app.state.settings, index, topic_id, data,
                                               principal)
    if not delivered:
        raise TemporalUnavailable("consultation", stored=True, will_be_delivered=True,
                                  decision_id=decision.id, delivery=decision.delivery)
    return respond(201, await service.to_read(session, decision))


@router.post(
    "/topics/{topic_id}/decision",
    status_code=201,
    response_model=DecisionRead,
    responses={
        409: {"description": "Already decided, plan rule broken, or refused by the consultation; nothing changed"},
        503: {"description": "Temporal did not answer (Retry-After): `stored` says whether the decision is kept "
                              "(pending) and `will_be_delivered` that the reconciler delivers it"},
        422: {"description": "Missing or unknown field (organiser, venue, topic); nothing changed"},
    },
    summary="The chair's decision: accept into a year's plan, reject with a reason, or merge",
)
async def decide(
    topic_id: DbId,
    data: DecisionCreate,
    request: Request,
    session: Session,
    index: Index,
    principal: Annotated[Principal, Depends(allow(*DECIDERS))],
) -> JSONResponse:
    return await decide_and_deliver(request, session, index, topic_id, data, principal)


@router.post(
    "/topics/{topic_id}/merge",
    status_code=201,
    response_model=DecisionRead,
    summary="Merge a topic into another by hand (staff): its supporters join the target",
)
async def merge(
    topic_id: DbId,
    data: MergeCreate,
    request: Request,
    session: Session,
    index: Index,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.CHAIR))],
) -> JSONResponse:
    decision = DecisionCreate(outcome=Outcome.MERGED, merged_into_topic_id=data.into_topic_id, reason=data.reason)
    return await decide_and_deliver(request, session, index, topic_id, decision, principal)


@router.get("/topics/{topic_id}/decision", response_model=DecisionRead, summary="The decision on a topic")
async def read_decision(
    topic_id: DbId, session: Session, _: Annotated[Principal, Depends(allow(*READERS))]
) -> DecisionRead:
    return await service.to_read(session, await service.get_decision(session, topic_id))


@router.get("/plans/{year}", response_model=PlanRead, summary="A year's plan, checked against 1+2+4+X")
async def read_plan(year: YearPath, session: Session, _: Annotated[Principal, Depends(allow(*READERS))]) -> PlanRead:
    return await service.read_plan(session, year)


@router.patch(
    "/plans/{year}/entries/{topic_id}",
    response_model=PlanRead,
    summary="Edit an entry of the plan (format, organiser, venue, month, year); answers the checked plan",
)
async def edit_plan_entry(
    year: YearPath,
    topic_id: DbId,
    data: PlanEntryUpdate,
    request: Request,
    session: Session,
    _: Annotated[Principal, Depends(allow(*DECIDERS))],
) -> PlanRead:
    temporal = await request.app.state.temporal.client()
    return await service.edit_plan_entry(session, temporal, year, topic_id, data)
