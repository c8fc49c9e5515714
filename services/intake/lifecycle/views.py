"""Research, invitations and the consultation's status (staff actions after the decision)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from services.common.auth import Principal, Role, allow
from services.common.idempotency import Idempotency, run_idempotent
from services.common.types import DbId
from workflows.consultation import ConsultationWorkflow
from workflows.lifecycle_types import InvitationAnswer, ResearchCompleted

from ..base import IDEMPOTENCY_KEYS
from ..deps import READERS, Session, temporal_or_none
from ..topics import service as topics
from . import service
from .models import ResearchReport
from .schemas import (
    ConsultationRead,
    InvitationAnswerIn,
    ResearchCompletion,
    ResearchReportRead,
    TopicStageIn,
)

router = APIRouter(tags=["consultation lifecycle 协商流程"])


@router.get("/topics/{topic_id}/consultation", response_model=ConsultationRead,
            summary="Where the consultation stands: stage, panel, invitations, commitments")
async def read_consultation(
    topic_id: DbId, request: Request, session: Session, _: Annotated[Principal, Depends(allow(*READERS))]
) -> ConsultationRead:
    await topics.get_topic(session, topic_id)
    return await service.consultation_status(await temporal_or_none(request), topic_id)


@router.put("/topics/{topic_id}/stage", status_code=204,
            summary="The consultation workflow reports its stage (service): the copy listings filter on")
async def put_stage(
    topic_id: DbId, data: TopicStageIn, session: Session, _: Annotated[Principal, Depends(allow(Role.SERVICE))]
) -> Response:
    await service.mirror_stage(session, await topics.get_topic(session, topic_id), data.stage)
    return Response(status_code=204)


@router.post("/topics/{topic_id}/research-completion", status_code=201, response_model=ResearchReportRead,
             responses={409: {"description": "The consultation is not in its research stage"}},
             summary="Research done (调研完成): what the draw needs")
async def complete_research(
    topic_id: DbId, data: ResearchCompletion, request: Request, session: Session, idem: Idempotency,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.COMMITTEE))],
) -> JSONResponse:
    async def handler():
        topic = await topics.get_topic(session, topic_id)
        report = ResearchReport(topic_id=topic_id, summary=data.summary, expertise=list(data.expertise),
                                exclude_departments=list(data.exclude_departments), recorded_by=principal.subject)
        session.add(report)
        await session.flush()
        values = ResearchReportRead.model_validate({**{c: getattr(report, c) for c in
                                                      ("id", "topic_id", "summary", "expertise",
                                                       "exclude_departments", "created_at")}, "stage": ""})
        status = await service.send_update(
            session, await temporal_or_none(request), topic, ConsultationWorkflow.complete_research,
            ResearchCompleted(report_id=values.id, expertise=values.expertise,
                              exclude_departments=values.exclude_departments),
            update_id=f"research-{values.id}",
        )
        return 201, values.model_copy(update={"stage": status.stage})

    return await run_idempotent(session, IDEMPOTENCY_KEYS, idem, principal, handler)


@router.post("/topics/{topic_id}/invitations/{person_id}/answer", response_model=ConsultationRead,
             responses={409: {"description": "Not invited, answered already, or not inviting now"}},
             summary="Record an invitee's answer (接受 / 谢绝); a decline brings a replacement draw")
async def answer_invitation(
    topic_id: DbId, person_id: DbId, data: InvitationAnswerIn, request: Request,
    session: Session, idem: Idempotency, principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    async def handler():
        topic = await topics.get_topic(session, topic_id)
        temporal = await temporal_or_none(request)
        await service.send_update(
            session, temporal, topic, ConsultationWorkflow.answer_invitation,
            InvitationAnswer(person_id=person_id, accepted=data.accepted),
            update_id=f"invitation-{topic_id}-{person_id}-{'yes' if data.accepted else 'no'}",
        )
        return 200, await service.consultation_status(temporal, topic_id)

    return await run_idempotent(session, IDEMPOTENCY_KEYS, idem, principal, handler)
