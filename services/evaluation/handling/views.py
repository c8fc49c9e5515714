"""Proposal-handling routes (办理): co-handlers (会办), objections to an assignment
(交办异议), formal replies (答复) and their disclosure review (答复公开)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from services.common.db import Session
from services.common.temporal import temporal_or_none
from services.common.types import DbId
from services.common.workflow_errors import TemporalUnavailable

from ..commitments import service as commitments
from ..commitments.views import ACTION_RESPONSES, Clerk, Department, Reader, recorded_action
from ..commitments.schemas import ActionRead
from . import service
from .schemas import (
    CoHandlerRead,
    ObjectionCreate,
    ObjectionDecisionCreate,
    ObjectionRead,
    OpinionCreate,
    ReplyCreate,
    ReplyRead,
    ReviewCreate,
)

router = APIRouter(prefix="/commitments", tags=["handling 办理"])
STORED_503 = {503: {"description": "Temporal did not answer (Retry-After): stored, and will be delivered"}}


@router.get("/{commitment_id}/co-handlers", response_model=list[CoHandlerRead],
            summary="Co-handling departments (会办单位), each with its own deadline and escalation level")
async def list_co_handlers(commitment_id: DbId, session: Session, principal: Reader) -> list[CoHandlerRead]:
    commitment = await service.commitment_for(session, commitment_id, principal)
    return [service.co_handler_read(c) for c in await service.list_co_handlers(session, commitment)]


@router.post("/{commitment_id}/co-handlers/{co_handler_id}/opinion", response_model=CoHandlerRead,
             responses={409: {"description": "The opinion was given already"}, **STORED_503},
             summary="A co-handler sends its opinion to the lead department (会办意见)")
async def submit_opinion(
    commitment_id: DbId, co_handler_id: DbId, data: OpinionCreate, request: Request, session: Session,
    principal: Department,
) -> CoHandlerRead:
    commitment = await service.commitment_for(session, commitment_id, principal)
    co = await service.get_co_handler(session, commitment, co_handler_id)
    co = await service.submit_opinion(session, await temporal_or_none(request), co, principal, data.opinion)
    return service.co_handler_read(co)


@router.post("/{commitment_id}/objections", response_model=ObjectionRead, status_code=201,
             responses={409: {"description": "The objection window closed, the assignment was answered already, "
                                             "or an objection to it awaits the office"}},
             summary="Object to an assignment (交办异议), within the configured working days")
async def raise_objection(
    commitment_id: DbId, data: ObjectionCreate, request: Request, session: Session, principal: Department,
) -> ObjectionRead:
    commitment = await service.commitment_for(session, commitment_id, principal)
    objection = await service.raise_objection(session, request.app.state.settings, commitment, principal, data)
    return ObjectionRead.model_validate(objection)


@router.get("/{commitment_id}/objections", response_model=list[ObjectionRead],
            summary="Objections to the assignments, with the office's decisions (kept on record)")
async def list_objections(commitment_id: DbId, session: Session, principal: Reader) -> list[ObjectionRead]:
    commitment = await service.commitment_for(session, commitment_id, principal)
    return [ObjectionRead.model_validate(o) for o in await service.list_objections(session, commitment)]


@router.post("/{commitment_id}/objections/{objection_id}/decision", response_model=ObjectionRead,
             responses={409: {"description": "Decided already, or the follow-up refused the reassignment"},
                        **STORED_503},
             summary="The office reassigns (the timers move to the new owner) or dismisses the objection")
async def decide_objection(
    commitment_id: DbId, objection_id: DbId, data: ObjectionDecisionCreate, request: Request, session: Session,
    principal: Clerk,
) -> ObjectionRead:
    commitment = await service.commitment_for(session, commitment_id, principal)
    objection = await service.get_objection(session, commitment, objection_id)
    objection = await service.decide_objection(session, await temporal_or_none(request), request.app.state.settings,
                                               commitment, objection, principal, data)
    return ObjectionRead.model_validate(objection)


@router.post("/{commitment_id}/replies", response_model=ReplyRead, status_code=201, responses=ACTION_RESPONSES,
             summary="The lead department's formal reply (答复), class A/B/C/D; a B reply is answered again as A")
async def reply(
    commitment_id: DbId, data: ReplyCreate, request: Request, session: Session, principal: Department,
) -> ReplyRead:
    commitment = await commitments.get_commitment(session, commitment_id, principal)
    action: ActionRead = await recorded_action(request, session, principal, commitment_id, "reply",
                                               data.model_dump(mode="json"))
    stored = await service.reply_of_action(session, action.id)
    if stored is None or stored.commitment_id != commitment.id:
        # Accepted by the follow-up, but its record is not there yet: delivered again by the loop.
        raise TemporalUnavailable("follow-up", stored=True, will_be_delivered=True, action_id=action.id)
    return ReplyRead.model_validate(stored)


@router.get("/{commitment_id}/replies", response_model=list[ReplyRead],
            summary="Replies with their disclosure review (staff and the lead department)")
async def list_replies(commitment_id: DbId, session: Session, principal: Reader) -> list[ReplyRead]:
    commitment = await commitments.get_commitment(session, commitment_id, principal)
    return [ReplyRead.model_validate(r) for r in await service.list_replies(session, commitment)]


@router.post("/{commitment_id}/replies/{reply_id}/review", response_model=ReplyRead, status_code=201,
             responses={200: {"description": "The same decision again: the first answer"},
                        409: {"description": "Reviewed already, with another decision"}},
             summary="Disclosure review (答复公开): publish in full, publish a summary, or withhold with a reason")
async def review_reply(
    commitment_id: DbId, reply_id: DbId, data: ReviewCreate, response: Response, session: Session, principal: Clerk,
) -> ReplyRead:
    commitment = await commitments.get_commitment(session, commitment_id, principal)
    reply_row = await service.get_reply(session, commitment, reply_id)
    reviewed, created = await service.review_reply(session, commitment, reply_row, principal, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReplyRead.model_validate(reviewed)
