"""Consultation events, recorded once per event key."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.pagination import keyset_page
from services.common.problems import Problem

from .models import ConsultationEvent
from .schemas import EventCreate, EventPage, EventRead

log = structlog.get_logger()


async def record_event(session: AsyncSession, data: EventCreate) -> tuple[ConsultationEvent, bool]:
    """Returns the event and whether this call created it."""
    existing = await _by_key(session, data.event_key)
    if existing is None:
        event = ConsultationEvent(**data.model_dump())
        session.add(event)
        try:
            await session.commit()
            log.info("event.recorded", event_id=event.id, kind=event.kind, topic_id=event.topic_id)
            return event, True
        except IntegrityError:
            # A concurrent retry with the same key won the race: answer with its row.
            await session.rollback()
            existing = await _by_key(session, data.event_key)
            assert existing is not None
    if (existing.kind, existing.topic_id) != (data.kind, data.topic_id):
        raise Problem(409, "Conflict", f"event_key '{data.event_key}' was already used for a different event.")
    return existing, False


async def _by_key(session: AsyncSession, key: str) -> ConsultationEvent | None:
    return await session.scalar(select(ConsultationEvent).where(ConsultationEvent.event_key == key))


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
