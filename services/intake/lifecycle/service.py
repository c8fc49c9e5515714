"""Staff actions after the chair's decision, delivered to ConsultationWorkflow as updates
through the one client (``consultation_client.py``), by the delivery rule of
docs/architecture.md:

1. the record (research report, meeting) is committed with ``delivery = "pending"``;
2. the update is sent with an id derived from the record's id (``research-<id>``,
   ``meeting-<id>``), so every re-send is the same update;
3. accepted → ``delivered``; refused by the workflow's validator or the workflow has
   ended → the record is withdrawn (409: nothing remains of it); no answer → the record
   stays pending, the answer is 503 ``stored: true, will_be_delivered: true``, and
   :func:`deliver_pending` (the reconciler) re-sends it.

A retried request (same Idempotency-Key, or a clerk pressing again) finds the pending
record of the topic and re-sends *it* instead of storing a second one.

Invitation answers have no record in intake (the workflow keeps them): nothing is
stored, so Temporal down is 503 ``stored: false``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.problems import PROBLEM_BASE, Problem
from services.common.workflow_errors import (
    TemporalUnavailable,
    WorkflowEnded,
    WorkflowRefused,
)
from workflows.consultation import ConsultationStatus, ConsultationWorkflow
from workflows.lifecycle_types import (
    DrawQuota,
    InvitationAnswer,
    MeetingHeld,
    PublicValue,
    ResearchCompleted,
    ResumeConsultation,
)

from ..consultation_client import ConsultationClient
from ..meetings.models import Meeting
from ..topics.models import Topic
from .models import ResearchReport
from .schemas import ConsultationRead, ResearchCompletion

log = structlog.get_logger()

PENDING, DELIVERED = "pending", "delivered"
# An amended research report sent with ``resume`` (the draw failed on the first one).
PENDING_RESUME = "pending_resume"


async def deliver(
    session: AsyncSession, client: ConsultationClient, record: Any, update: Any, arg: Any, *, update_id: str
) -> ConsultationStatus:
    """Send the committed ``record``'s update; mark it delivered, or withdraw it when
    the workflow refuses it or has ended. Temporal down: it stays pending (503)."""
    topic_id = record.topic_id
    try:
        status = await client.update(topic_id, update, arg, update_id=update_id, stored=True)
    except (WorkflowRefused, WorkflowEnded):
        # Compensation: the action never happened.
        await session.delete(record)
        await session.commit()
        raise
    record.delivery = DELIVERED
    await session.commit()
    return status


# ------------------------------------------------------------------ research
def draw_shape(data: ResearchCompletion) -> dict:
    """The report's draw shape as stored (validated by the schema already)."""
    return {"composition": data.composition.model_dump() if data.composition else None,
            "quotas": [q.model_dump() for q in data.quotas]}


def research_update(report: ResearchReport) -> ResearchCompleted:
    return ResearchCompleted(report_id=report.id, expertise=list(report.expertise),
                             exclude_departments=list(report.exclude_departments),
                             composition=dict(report.composition) if report.composition else None,
                             quotas=[DrawQuota(**q) for q in report.quotas or []])


async def complete_research(
    session: AsyncSession, client: ConsultationClient, topic: Topic, data: ResearchCompletion, recorded_by: str
) -> tuple[ResearchReport, ConsultationStatus]:
    report = await session.scalar(
        select(ResearchReport).where(ResearchReport.topic_id == topic.id, ResearchReport.delivery == PENDING)
    )
    if report is None:
        report = ResearchReport(topic_id=topic.id, summary=data.summary, expertise=list(data.expertise),
                                exclude_departments=list(data.exclude_departments), recorded_by=recorded_by,
                                delivery=PENDING, **draw_shape(data))
        session.add(report)
        await session.commit()
    status = await deliver(session, client, report, ConsultationWorkflow.complete_research, research_update(report),
                           update_id=f"research-{report.id}")
    return report, status


# ------------------------------------------------------------------ needs attention
async def resume(
    session: AsyncSession, client: ConsultationClient, topic: Topic, research: ResearchCompletion | None,
    recorded_by: str,
) -> ConsultationStatus:
    """Resume a consultation that needs attention (待处理). The update id names the
    attention episode, so a repeated request resumes that episode once. An amended
    research report is a record: stored first (``pending_resume``), then sent with the
    update, redelivered by the reconciler like any other."""
    status = await client.status(topic.id)
    if status.needs_attention is None:
        raise Problem(409, "Nothing to resume", f"The consultation of topic {topic.id} does not need attention "
                      f"(stage {status.stage}).", type_=PROBLEM_BASE + "nothing-to-resume", stage=status.stage)
    episode = status.needs_attention.episode
    if research is None:
        return await client.update(topic.id, ConsultationWorkflow.resume, ResumeConsultation(),
                                   update_id=f"resume-{topic.id}-{episode}", stored=False)
    report = ResearchReport(topic_id=topic.id, summary=research.summary, expertise=list(research.expertise),
                            exclude_departments=list(research.exclude_departments), recorded_by=recorded_by,
                            delivery=PENDING_RESUME, **draw_shape(research))
    session.add(report)
    await session.commit()
    return await deliver_amendment(session, client, report)


async def deliver_amendment(session: AsyncSession, client: ConsultationClient, report: ResearchReport) -> ConsultationStatus:
    return await deliver(session, client, report, ConsultationWorkflow.resume,
                         ResumeConsultation(research=research_update(report)), update_id=f"resume-research-{report.id}")


# ------------------------------------------------------------------ meetings
async def hold_meeting(session: AsyncSession, client: ConsultationClient, meeting: Meeting) -> ConsultationStatus:
    """``meeting`` is committed (pending); tell the workflow."""
    return await deliver(session, client, meeting, ConsultationWorkflow.meeting_held,
                         MeetingHeld(meeting_id=meeting.id), update_id=f"meeting-{meeting.id}")


# ------------------------------------------------------------------ invitations
async def enter_public_value(client: ConsultationClient, topic_id: int, draw_id: int, value: str) -> ConsultationStatus:
    """The announced public value of a draw, entered by staff once it is public; the
    workflow's validator refuses it before the announced time, for another draw, or in
    the wrong format (409 naming why), and then reveals the draw."""
    return await client.update(
        topic_id, ConsultationWorkflow.enter_public_value, PublicValue(draw_id=draw_id, public_randomness=value),
        update_id=f"public-value-{topic_id}-{draw_id}", stored=False,
    )


async def answer_invitation(client: ConsultationClient, topic_id: int, person_id: int, accepted: bool) -> ConsultationStatus:
    return await client.update(
        topic_id, ConsultationWorkflow.answer_invitation, InvitationAnswer(person_id=person_id, accepted=accepted),
        update_id=f"invitation-{topic_id}-{person_id}-{'yes' if accepted else 'no'}", stored=False,
    )


# ------------------------------------------------------------------ the reconciler
async def deliver_pending(session: AsyncSession, client: ConsultationClient, *, older_than: timedelta) -> int:
    """Re-send research reports and meetings whose delivery was interrupted; a refusal
    withdraws them, Temporal still down leaves them for the next round."""
    cutoff = utcnow() - older_than
    settled = 0
    for model, send in ((ResearchReport, None), (Meeting, hold_meeting)):
        rows = (await session.scalars(
            select(model).where(model.delivery.in_((PENDING, PENDING_RESUME)), model.created_at <= cutoff)
            .order_by(model.id).limit(50)
        )).all()
        for row in rows:
            try:
                if row.delivery == PENDING_RESUME:
                    await deliver_amendment(session, client, row)
                elif send is None:
                    await deliver(session, client, row, ConsultationWorkflow.complete_research, research_update(row),
                                  update_id=f"research-{row.id}")
                else:
                    await send(session, client, row)
            except TemporalUnavailable:
                return settled
            except (WorkflowRefused, WorkflowEnded):
                log.info("consultation.redelivery_refused", record=model.__tablename__, record_id=row.id)
            except Problem:
                continue  # the workflow has not started yet: the next pass
            settled += 1
    return settled


# ------------------------------------------------------------------ stage and status
async def mirror_stage(session: AsyncSession, topic: Topic, stage: str) -> None:
    topic.stage = stage
    await session.commit()


def to_consultation_read(status: ConsultationStatus) -> ConsultationRead:
    return ConsultationRead.model_validate({**asdict(status), "invitations": [asdict(i) for i in status.invitations]})


async def consultation_status(client: ConsultationClient, topic_id: int) -> ConsultationRead:
    return to_consultation_read(await client.status(topic_id))
