"""Commitment routes: departments report, committees decide and verify, the workflow
records its escalations. Every route reads top-down into service.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.problems import Problem
from services.common.temporal import temporal_or_none
from services.common.types import Cursor, DbId
from services.common.workflow_errors import TemporalUnavailable

from ..handling import service as handling
from . import service
from .schemas import (
    ActionRead,
    CommitmentCreate,
    CommitmentPage,
    CommitmentRead,
    CommitmentStateUpdate,
    CompletionCreate,
    EscalationEventCreate,
    EscalationEventRead,
    ExtensionDecisionCreate,
    ExtensionRequestCreate,
    FollowUpRead,
    ProgressReportCreate,
    SatisfactionCreate,
    VerificationCreate,
)

router = APIRouter(prefix="/commitments", tags=["commitments 承诺"])

READERS = (Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR, Role.SERVICE, Role.DEPARTMENT)
Reader = Annotated[Principal, Depends(allow(*READERS))]
Department = Annotated[Principal, Depends(allow(Role.DEPARTMENT))]
Committee = Annotated[Principal, Depends(allow(Role.COMMITTEE))]
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "The action does not fit the commitment's stage (refused by its workflow), "
                         "or the follow-up has ended (names the stage); nothing is kept"},
    503: {"description": "Temporal did not answer (Retry-After): the action is stored and will be delivered"},
}


@router.post("", response_model=CommitmentRead, status_code=201, summary="Record a commitment and start its follow-up")
async def create_commitment(
    data: CommitmentCreate,
    request: Request,
    response: Response,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.SERVICE))],
) -> CommitmentRead:
    commitment = await service.create_commitment(
        session, await temporal_or_none(request), request.app.state.settings, data, principal
    )
    return service.to_read(commitment)


@router.get("", response_model=CommitmentPage, summary="List commitments (a department sees its own)")
async def list_commitments(
    session: Session,
    principal: Reader,
    department: Annotated[str | None, Query(max_length=60)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|completed|verified|closed)$")] = None,
    min_level: Annotated[int | None, Query(ge=0, le=4)] = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CommitmentPage:
    return await service.list_commitments(
        session, principal, department=department, status=status_, min_level=min_level, after=after, limit=limit
    )


@router.get("/{commitment_id}", response_model=CommitmentRead, summary="One commitment")
async def read_commitment(commitment_id: DbId, session: Session, principal: Reader) -> CommitmentRead:
    return service.to_read(await service.get_commitment(session, commitment_id, principal))


async def recorded_action(
    request: Request, session: AsyncSession, principal: Principal, commitment_id: DbId, kind: str,
    payload: dict[str, Any],
) -> ActionRead:
    """The action, stored on the commitment and delivered to its follow-up, as its route
    answers it (201), or ACTION_RESPONSES."""
    commitment = await service.get_commitment(session, commitment_id, principal)
    action = await service.record_action(
        session, await temporal_or_none(request), commitment, principal,
        kind=kind, payload=payload, settings=request.app.state.settings,
    )
    if action.outcome == "pending":
        # Stored, but its follow-up has not started yet (Temporal was down): the
        # reconciler starts it and delivers the action.
        raise TemporalUnavailable("follow-up", stored=True, will_be_delivered=True, action_id=action.id)
    return ActionRead.model_validate(action)


@router.post("/{commitment_id}/progress-reports", response_model=ActionRead, status_code=201,
             responses=ACTION_RESPONSES, summary="Report progress (进展报告)")
async def report_progress(
    commitment_id: DbId, data: ProgressReportCreate, request: Request, session: Session, principal: Department,
) -> ActionRead:
    return await recorded_action(request, session, principal, commitment_id, "progress_report",
                                 data.model_dump(mode="json"))


@router.post("/{commitment_id}/extension-requests", response_model=ActionRead, status_code=201,
             responses=ACTION_RESPONSES, summary="Ask for an extension (申请延期)")
async def request_extension(
    commitment_id: DbId, data: ExtensionRequestCreate, request: Request, session: Session, principal: Department,
) -> ActionRead:
    commitment = await service.get_commitment(session, commitment_id, principal)
    if data.requested_due_at <= commitment.due_at:
        raise Problem(422, "Invalid request", f"requested_due_at: must be later than the due date {commitment.due_at.isoformat()}.")
    await handling.check_extension_cap(session, request.app.state.settings, commitment, data.requested_due_at)
    return await recorded_action(request, session, principal, commitment_id, "extension_request",
                                 data.model_dump(mode="json"))


@router.post("/{commitment_id}/extension-requests/{request_id}/decision", response_model=ActionRead, status_code=201,
             responses=ACTION_RESPONSES, summary="Grant or refuse an extension (committee)")
async def decide_extension(
    commitment_id: DbId, request_id: DbId, data: ExtensionDecisionCreate, request: Request, session: Session,
    principal: Committee,
) -> ActionRead:
    commitment = await service.get_commitment(session, commitment_id, principal)
    asked = await service.find_extension_request(session, commitment, request_id)
    new_due = data.new_due_at.isoformat() if data.new_due_at else asked.payload["requested_due_at"]
    if data.granted:
        await handling.check_extension_cap(session, request.app.state.settings, commitment,
                                           datetime.fromisoformat(new_due))
    payload = {"request_id": request_id, "new_due_at": new_due, "note": data.note}
    kind = "extension_granted" if data.granted else "extension_refused"
    return await recorded_action(request, session, principal, commitment_id, kind, payload)


@router.post("/{commitment_id}/completion", response_model=ActionRead, status_code=201,
             responses=ACTION_RESPONSES, summary="Report completion (办结)")
async def report_completion(
    commitment_id: DbId, data: CompletionCreate, request: Request, session: Session, principal: Department,
) -> ActionRead:
    return await recorded_action(request, session, principal, commitment_id, "completion",
                                 data.model_dump(mode="json"))


@router.post("/{commitment_id}/verification", response_model=ActionRead, status_code=201,
             responses=ACTION_RESPONSES, summary="Verify completion (核查: inspection, democratic appraisal...)")
async def verify_completion(
    commitment_id: DbId, data: VerificationCreate, request: Request, session: Session, principal: Committee,
) -> ActionRead:
    return await recorded_action(request, session, principal, commitment_id, "verification",
                                 data.model_dump(mode="json"))


@router.post("/{commitment_id}/satisfaction", response_model=ActionRead, status_code=201,
             responses=ACTION_RESPONSES, summary="Rate satisfaction (满意 / 基本满意 / 不满意)")
async def rate_satisfaction(
    commitment_id: DbId, data: SatisfactionCreate, request: Request, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.COMMITTEE, Role.CLERK))],
) -> ActionRead:
    return await recorded_action(request, session, principal, commitment_id, "satisfaction",
                                 data.model_dump(mode="json"))


@router.get("/{commitment_id}/actions", response_model=list[ActionRead], summary="Everything done on a commitment")
async def list_actions(commitment_id: DbId, session: Session, principal: Reader) -> list[ActionRead]:
    commitment = await service.get_commitment(session, commitment_id, principal)
    return [ActionRead.model_validate(a) for a in await service.list_actions(session, commitment)]


@router.get("/{commitment_id}/escalation-events", response_model=list[EscalationEventRead],
            summary="Rungs of the ladder that fired")
async def list_escalations(commitment_id: DbId, session: Session, principal: Reader) -> list[EscalationEventRead]:
    await service.get_commitment(session, commitment_id, principal)
    return [EscalationEventRead.model_validate(e) for e in await service.list_escalations(session, commitment_id)]


@router.post("/{commitment_id}/escalation-events", response_model=EscalationEventRead, status_code=201,
             summary="Record a fired rung and the commitment's state after it (the follow-up workflow; "
                     "idempotent by event_key)")
async def record_escalation(
    commitment_id: DbId, data: EscalationEventCreate, response: Response, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.SERVICE))],
) -> EscalationEventRead:
    if data.commitment_id != commitment_id:
        raise Problem(422, "Invalid request", "commitment_id: differs from the path.")
    commitment = await service.get_commitment(session, commitment_id, principal)
    event, created = await service.record_escalation(session, commitment, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return EscalationEventRead.model_validate(event)


@router.put("/{commitment_id}/state", response_model=CommitmentRead, summary="Mirror the workflow's state (service)")
async def put_state(
    commitment_id: DbId, data: CommitmentStateUpdate, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.SERVICE))],
) -> CommitmentRead:
    if data.commitment_id != commitment_id:
        raise Problem(422, "Invalid request", "commitment_id: differs from the path.")
    commitment = await service.get_commitment(session, commitment_id, principal)
    return service.to_read(await service.apply_state(session, commitment, data))


@router.post("/{commitment_id}/follow-up/resume", response_model=FollowUpRead,
             responses={409: {"description": "Nothing needs attention, or the follow-up has ended (names the stage)"},
                        503: {"description": "Temporal did not answer (Retry-After); nothing stored, retry"}},
             summary="Resume a follow-up that needs attention (待处理), after fixing its cause")
async def resume_follow_up(
    commitment_id: DbId, request: Request, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.COMMITTEE))],
) -> FollowUpRead:
    commitment = await service.get_commitment(session, commitment_id, principal)
    return FollowUpRead.from_status(await service.resume_follow_up(await temporal_or_none(request), commitment))
