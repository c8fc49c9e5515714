"""Meeting records: minutes, attendance, consensus, commitments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.types import DbId

from ..deps import READERS, respond
from ..lifecycle.views import WORKFLOW_RESPONSES, Consultation
from . import service
from .schemas import MeetingCreate, MeetingRead

router = APIRouter(tags=["meetings 协商议事会"])


@router.post("/topics/{topic_id}/meetings", status_code=201, response_model=MeetingRead, summary="Record the consultation meeting; its commitments go to evaluation",
             responses=WORKFLOW_RESPONSES)
async def record_meeting(
    topic_id: DbId,
    data: MeetingCreate,
    client: Consultation,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.COMMITTEE))],
) -> JSONResponse:
    meeting = await service.record_meeting(session, client, topic_id, data, principal)
    return respond(201, (await service.to_read(session, meeting)).for_role(principal.role))


@router.get("/topics/{topic_id}/meetings", response_model=list[MeetingRead], summary="A topic's meetings")
async def meetings_of(
    topic_id: DbId, session: Session, principal: Annotated[Principal, Depends(allow(*READERS))]
) -> list[MeetingRead]:
    return [(await service.to_read(session, m)).for_role(principal.role) for m in await service.meetings_of(session, topic_id)]


@router.get("/meetings/{meeting_id}", response_model=MeetingRead, summary="One meeting record")
async def read_meeting(
    meeting_id: DbId, session: Session, principal: Annotated[Principal, Depends(allow(*READERS))]
) -> MeetingRead:
    return (await service.to_read(session, await service.get_meeting(session, meeting_id))).for_role(principal.role)
