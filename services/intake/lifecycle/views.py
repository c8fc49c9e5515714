"""Research, invitations and the consultation's status (staff actions after the decision).

Routes read top-down into service.py; every call to the workflow goes through
``ConsultationClient`` (one error mapping: 409 refused / ended, 503 + Retry-After)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.temporal import temporal_or_none
from services.common.types import DbId

from ..consultation_client import ConsultationClient
from ..deps import READERS, respond
from ..topics import service as topics
from . import service
from .schemas import (
    ConsultationRead,
    InvitationAnswerIn,
    PublicValueIn,
    ResearchCompletion,
    ResearchReportRead,
    ResumeIn,
    TopicStageIn,
)

router = APIRouter(tags=["consultation lifecycle 协商流程"])

# What every route that reaches the workflow may answer besides its success.
WORKFLOW_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused by the consultation (wrong stage), or the consultation has ended (names the stage)"},
    503: {"description": "Temporal did not answer (Retry-After); says whether the record was stored and will be delivered"},
}


async def consultation_client(request: Request) -> ConsultationClient:
    return ConsultationClient(await temporal_or_none(request), request.app.state.settings)


Consultation = Annotated[ConsultationClient, Depends(consultation_client)]


@router.get("/topics/{topic_id}/consultation", response_model=ConsultationRead,
            summary="Where the consultation stands: stage, panel, invitations, commitments")
async def read_consultation(
    topic_id: DbId, client: Consultation, session: Session, _: Annotated[Principal, Depends(allow(*READERS))]
) -> ConsultationRead:
    await topics.get_topic(session, topic_id)
    return await service.consultation_status(client, topic_id)


@router.put("/topics/{topic_id}/stage", status_code=204,
            summary="The consultation workflow reports its stage (service): the copy listings filter on")
async def put_stage(
    topic_id: DbId, data: TopicStageIn, session: Session, _: Annotated[Principal, Depends(allow(Role.SERVICE))]
) -> Response:
    await service.mirror_stage(session, await topics.get_topic(session, topic_id), data.stage)
    return Response(status_code=204)


@router.post("/topics/{topic_id}/research-completion", status_code=201, response_model=ResearchReportRead,
             responses=WORKFLOW_RESPONSES, summary="Research done (调研完成): what the draw needs")
async def complete_research(
    topic_id: DbId, data: ResearchCompletion, client: Consultation, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.COMMITTEE))],
) -> JSONResponse:
    topic = await topics.get_topic(session, topic_id)
    report, status = await service.complete_research(session, client, topic, data, principal.subject)
    return respond(201, ResearchReportRead.model_validate(
        {**{c: getattr(report, c) for c in ("id", "topic_id", "summary", "expertise", "exclude_departments",
                                            "composition", "quotas", "created_at")}, "stage": status.stage}))


@router.post("/topics/{topic_id}/consultation/resume", response_model=ConsultationRead,
             responses={**WORKFLOW_RESPONSES, 409: {"description": "Nothing needs attention, or the consultation ended"}},
             summary="Resume a consultation that needs attention (待处理), after fixing its cause")
async def resume_consultation(
    topic_id: DbId, data: ResumeIn, client: Consultation, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.COMMITTEE))],
) -> JSONResponse:
    topic = await topics.get_topic(session, topic_id)
    status = await service.resume(session, client, topic, data.research, principal.subject)
    return respond(200, service.to_consultation_read(status))


@router.post("/topics/{topic_id}/invitations/{person_id}/answer", response_model=ConsultationRead,
             responses=WORKFLOW_RESPONSES,
             summary="Record an invitee's answer (接受 / 谢绝); a decline brings a replacement draw")
async def answer_invitation(
    topic_id: DbId, person_id: DbId, data: InvitationAnswerIn, client: Consultation,
    session: Session, principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    await topics.get_topic(session, topic_id)
    status = await service.answer_invitation(client, topic_id, person_id, data.accepted)
    return respond(200, service.to_consultation_read(status))


@router.post("/topics/{topic_id}/draws/{draw_id}/public-value", response_model=ConsultationRead,
             responses=WORKFLOW_RESPONSES,
             summary="Enter an announced draw's public random value once it is public (clerk); the draw is revealed")
async def enter_public_value(
    topic_id: DbId, draw_id: DbId, data: PublicValueIn, client: Consultation,
    session: Session, _: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    await topics.get_topic(session, topic_id)
    status = await service.enter_public_value(client, topic_id, draw_id, data.public_randomness)
    return respond(200, service.to_consultation_read(status))
