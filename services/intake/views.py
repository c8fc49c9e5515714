"""Intake's HTTP routes: each reads top-down into service.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.auth import Principal, Role, allow
from services.common.db import get_session
from services.common.problems import Problem
from services.common.vocabulary import Channel

from . import service
from .schemas import TopicCreate, TopicPage, TopicRead

router = APIRouter(prefix="/topics", tags=["topics 议题"])

Session = Annotated[AsyncSession, Depends(get_session)]
READERS = (Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR, Role.SERVICE)


async def temporal_or_none(request: Request) -> Client | None:
    """Registering a topic must not fail because Temporal is down: the reconciler
    starts the workflow once it is back."""
    try:
        return await request.app.state.temporal.client()
    except Problem:
        return None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TopicRead,
    summary="Register a topic (登记议题) and start its consultation workflow",
)
async def create_topic(
    data: TopicCreate,
    request: Request,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.SERVICE))],
) -> TopicRead:
    temporal = await temporal_or_none(request)
    topic = await service.register_topic(session, temporal, request.app.state.settings, data, principal)
    stage = service.Stage.SUBMITTED if topic.workflow_started_at else service.PENDING
    return service.to_read(topic, stage)


@router.get("/{topic_id}", response_model=TopicRead, summary="One topic, with its stage read from its workflow")
async def read_topic(
    topic_id: int,
    request: Request,
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
) -> TopicRead:
    topic = await service.get_topic(session, topic_id)
    stage = await service.read_stage(await temporal_or_none(request), topic)
    return service.to_read(topic, stage)


@router.get("", response_model=TopicPage, summary="List topics, oldest first (keyset pagination)")
async def list_topics(
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
    channel: Channel | None = None,
    after: Annotated[int | None, Query(ge=0, description="Last id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TopicPage:
    return await service.list_topics(session, channel=channel.value if channel else None, after=after, limit=limit)
