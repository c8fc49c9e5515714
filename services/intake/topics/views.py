"""Topics: register, read, list (filters, free text, keyset pages), split."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from services.common import vocabulary
from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.temporal import temporal_or_none
from services.common.types import Cursor, DbId
from services.common.vocabulary import Channel, ConsultationFormat

from ..consultation_client import PENDING
from ..deps import READERS, Index, respond
from . import service
from .schemas import SplitRequest, TopicCreate, TopicPage, TopicRead

router = APIRouter(prefix="/topics", tags=["topics 议题"])

# The stored mirror of the workflow stage: set by delivered decisions, then by the
# workflow itself as the consultation moves on (PUT /topics/{id}/stage).
STAGES = vocabulary.STAGES


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
    index: Index,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.SERVICE))],
) -> JSONResponse:
    temporal = await temporal_or_none(request)
    topic = await service.register_topic(session, temporal, request.app.state.settings, index, data, principal)
    stage = service.Stage.SUBMITTED if topic.workflow_started_at else PENDING
    return respond(201, service.registered_read(topic, stage))


@router.get("/{topic_id}", response_model=TopicRead, summary="One topic, with its stage read from its workflow")
async def read_topic(
    topic_id: DbId,
    request: Request,
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
) -> TopicRead:
    topic = await service.get_topic(session, topic_id)
    stage = await service.read_stage(await temporal_or_none(request), topic)
    return await service.to_read(session, topic, stage)


@router.get("", response_model=TopicPage, summary="List topics (filters, free text, oldest or newest first, keyset pagination, total)")
async def list_topics(
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
    channel: Channel | None = None,
    stage: Annotated[str | None, Query(pattern="^(" + "|".join(STAGES) + ")$")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="plan year")] = None,
    organiser: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$", description="organiser code")] = None,
    format: ConsultationFormat | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="free text (Chinese; 繁/简 alike)")] = None,
    order: Annotated[Literal["oldest", "newest"], Query(description="by creation (id)")] = "oldest",
    after: Annotated[Cursor | None, Query(description="Last id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TopicPage:
    return await service.list_topics(
        session,
        channel=channel.value if channel else None,
        stage=stage,
        year=year,
        organiser=organiser,
        format_=format.value if format else None,
        q=q,
        newest_first=order == "newest",
        after=after,
        limit=limit,
    )


@router.post(
    "/{topic_id}/split",
    status_code=status.HTTP_201_CREATED,
    response_model=TopicRead,
    summary="Split submissions out of a topic into a new topic (staff)",
)
async def split_topic(
    topic_id: DbId,
    data: SplitRequest,
    request: Request,
    session: Session,
    index: Index,
    principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    temporal = await temporal_or_none(request)
    topic = await service.split_topic(session, temporal, request.app.state.settings, index, topic_id, data, principal)
    return respond(201, await service.to_read(session, topic))
