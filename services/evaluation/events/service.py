"""Consultation events, recorded once per event key."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import insert_once
from services.common.pagination import keyset_page
from services.common.problems import Problem

from .models import ConsultationEvent
from .schemas import EventCreate, EventPage, EventRead

log = structlog.get_logger()


async def record_event(session: AsyncSession, data: EventCreate) -> tuple[ConsultationEvent, bool]:
    """Returns the event and whether this call created it."""
    event, created = await insert_once(
        session, ConsultationEvent(**data.model_dump()), ConsultationEvent.event_key, data.event_key
    )
    if created:
        log.info("event.recorded", event_id=event.id, kind=event.kind, topic_id=event.topic_id)
    elif (event.kind, event.topic_id) != (data.kind, data.topic_id):
        raise Problem(409, "Conflict", f"event_key '{data.event_key}' was already used for a different event.")
    return event, created


async def list_events(
    session: AsyncSession, *, topic_id: int | None, kind: str | None, after: int | None, limit: int
) -> EventPage:
    filters = []
    if topic_id is not None:
        filters.append(ConsultationEvent.topic_id == topic_id)
    if kind is not None:
        filters.append(ConsultationEvent.kind == kind)
    page = await keyset_page(session, ConsultationEvent, filters, after=after, limit=limit)
    return EventPage(
        items=[EventRead.model_validate(r) for r in page.rows], total=page.total, next_after=page.next_after
    )
