"""Meeting records (协商议事会). Recording one tells the consultation, whose workflow
hands the commitments to evaluation (POST /commitments there)."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.problems import Problem

from ..consultation_client import ConsultationClient
from ..lifecycle.service import PENDING, hold_meeting
from ..reference.models import Venue
from ..reference.service import by_code
from ..topics import service as topics
from .models import Meeting, MeetingAttendee, MeetingCommitment
from .schemas import AttendeeRead, CommitmentRead, MeetingCreate, MeetingRead

log = structlog.get_logger()


async def record_meeting(
    session: AsyncSession, client: ConsultationClient, topic_id: int, data: MeetingCreate, principal: Principal
) -> Meeting:
    """Kept only if the consultation takes it: its workflow must be waiting for the
    meeting (research done, participants confirmed); it then hands the commitments to
    evaluation, which follows each one up. Stored first, pending, then delivered
    (lifecycle/service.py: a refusal withdraws it, an outage leaves it to the
    reconciler); a repeated request re-sends the topic's pending meeting."""
    await topics.get_topic(session, topic_id)
    pending = await session.scalar(select(Meeting).where(Meeting.topic_id == topic_id, Meeting.delivery == PENDING))
    if pending is not None:
        await hold_meeting(session, client, pending)
        return await get_meeting(session, pending.id)
    venue = await by_code(session, Venue, data.venue, field="venue")
    meeting = Meeting(
        topic_id=topic_id,
        held_at=data.held_at,
        venue_id=venue.id if venue else None,
        minutes=data.minutes,
        consensus=data.consensus,
        recorded_by=principal.subject,
        attendees=[MeetingAttendee(**a.model_dump(mode="json")) for a in data.attendance],
        commitments=[MeetingCommitment(**c.model_dump()) for c in data.commitments],
        delivery=PENDING,
    )
    session.add(meeting)
    await session.commit()
    meeting_id = meeting.id
    await hold_meeting(session, client, meeting)
    # Counts only: attendee names are personal data.
    log.info("meeting.recorded", meeting_id=meeting_id, topic_id=topic_id, attendees=len(data.attendance),
             commitments=len(data.commitments))
    return await get_meeting(session, meeting_id)


async def get_meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise Problem(404, "Not Found", f"No meeting with id {meeting_id}.")
    return meeting


async def meetings_of(session: AsyncSession, topic_id: int) -> list[Meeting]:
    await topics.get_topic(session, topic_id)
    return list((await session.scalars(select(Meeting).where(Meeting.topic_id == topic_id).order_by(Meeting.id))).all())


async def to_read(session: AsyncSession, meeting: Meeting) -> MeetingRead:
    venue = await session.get(Venue, meeting.venue_id) if meeting.venue_id else None
    return MeetingRead(
        id=meeting.id,
        topic_id=meeting.topic_id,
        held_at=meeting.held_at,
        venue=venue.code if venue else None,
        minutes=meeting.minutes,
        consensus=meeting.consensus,
        attendance=[AttendeeRead.model_validate(a) for a in meeting.attendees],
        commitments=[CommitmentRead.model_validate(c) for c in meeting.commitments],
        created_at=meeting.created_at,
    )
