"""Evaluation's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.types import Cursor, DbId

from . import service
from .schemas import EventCreate, EventPage, EventRead

router = APIRouter(prefix="/events", tags=["consultation events"])


@router.post(
    "",
    response_model=EventRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "An event with this event_key exists already; it is returned unchanged"}},
    summary="Record a consultation event (idempotent by event_key)",
)
async def record_event(
    data: EventCreate,
    response: Response,
    session: Session,
    _: Annotated[Principal, Depends(allow(Role.SERVICE))],
) -> EventRead:
    event, created = await service.record_event(session, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return EventRead.model_validate(event)


@router.get("", response_model=EventPage, summary="List consultation events, oldest first")
async def list_events(
    session: Session,
    _: Annotated[Principal, Depends(allow(Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR, Role.SERVICE))],
    topic_id: Annotated[DbId | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    return await service.list_events(session, topic_id=topic_id, kind=kind, after=after, limit=limit)
