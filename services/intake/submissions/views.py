"""Submissions from every channel, the public's online column and moderation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Principal, Role, allow
from services.common.client_identity import request_client_address
from services.common.db import Session
from services.common.temporal import temporal_or_none
from services.common.types import Cursor, DbId
from services.common.vocabulary import Channel

from ..deps import Index, respond
from ..topics.schemas import (
    ModerationDecision,
    PublicReceipt,
    PublicSubmissionCreate,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
    SubmissionStatus,
)
from . import service

router = APIRouter(tags=["submissions 征集 · moderation 审核"])

MODERATORS = (Role.CLERK,)


@router.post(
    "/public/submissions",
    status_code=201,
    response_model=PublicReceipt,
    responses={
        202: {"description": "Received and held for review (审核中)", "model": PublicReceipt},
        429: {"description": "Too many submissions; see Retry-After"},
    },
    summary="网上征集: a resident submits a topic, suggestion or opinion",
)
async def submit_public(
    data: PublicSubmissionCreate,
    request: Request,
    session: Session,
    index: Index,
    principal: Annotated[Principal, Depends(allow(Role.PUBLIC))],
) -> JSONResponse:
    submission, held = await service.receive_public(
        session,
        await temporal_or_none(request),
        request.app.state.settings,
        index,
        data,
        principal,
        request_client_address(request),
    )
    return respond(202 if held else 201, service.receipt(submission, held))


@router.get(
    "/public/submissions/{submission_id}",
    response_model=PublicReceipt,
    summary="网上征集: what became of my submission (the sender's own only)",
)
async def public_submission_status(
    submission_id: DbId, session: Session, principal: Annotated[Principal, Depends(allow(Role.PUBLIC))]
) -> PublicReceipt:
    return await service.public_status(session, submission_id, principal)


@router.post(
    "/submissions",
    status_code=201,
    response_model=SubmissionRead,
    summary="Register a submission from any channel; a near-duplicate joins its open topic as a supporter",
)
async def submit(
    data: SubmissionCreate,
    request: Request,
    session: Session,
    index: Index,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.SERVICE))],
) -> JSONResponse:
    submission = await service.receive(
        session, await temporal_or_none(request), request.app.state.settings, index, data, principal
    )
    return respond(201, SubmissionRead.model_validate(submission))


@router.get("/submissions", response_model=SubmissionPage, summary="Submissions, oldest first")
async def list_submissions(
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.OPERATOR))],
    status: SubmissionStatus | None = None,
    topic_id: Annotated[DbId | None, Query()] = None,
    channel: Channel | None = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SubmissionPage:
    return await service.list_submissions(
        session,
        principal,
        status=status.value if status else None,
        topic_id=topic_id,
        channel=channel.value if channel else None,
        after=after,
        limit=limit,
    )


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionRead,
    summary="One submission, raw and normalised (contact and name for clerks only)",
)
async def read_submission(
    submission_id: DbId, session: Session, principal: Annotated[Principal, Depends(allow(Role.CLERK, Role.OPERATOR))]
) -> SubmissionRead:
    return SubmissionRead.model_validate(await service.get_submission(session, submission_id)).for_role(principal.role)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic_id: DbId = Field(ge=1)


@router.post("/submissions/{submission_id}/move", response_model=SubmissionRead, summary="Move a submission to another topic")
async def move_submission(
    submission_id: DbId,
    data: MoveRequest,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    return respond(200, SubmissionRead.model_validate(await service.move_submission(session, submission_id, data.topic_id)))


@router.get("/moderation", response_model=SubmissionPage, summary="The moderation queue: held submissions with reasons")
async def moderation_queue(
    session: Session,
    principal: Annotated[Principal, Depends(allow(*MODERATORS, Role.OPERATOR))],
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SubmissionPage:
    return await service.list_submissions(
        session, principal, status=SubmissionStatus.HELD.value, topic_id=None, channel=None, after=after, limit=limit
    )


@router.post("/moderation/{submission_id}/release", response_model=SubmissionRead, summary="Release a held submission")
async def release(
    submission_id: DbId,
    data: ModerationDecision,
    request: Request,
    session: Session,
    index: Index,
    principal: Annotated[Principal, Depends(allow(*MODERATORS))],
) -> JSONResponse:
    submission = await service.release(
        session, await temporal_or_none(request), request.app.state.settings, index, submission_id, data, principal
    )
    return respond(200, SubmissionRead.model_validate(submission))


@router.post("/moderation/{submission_id}/reject", response_model=SubmissionRead, summary="Reject a held submission (kept, with the reason)")
async def reject(
    submission_id: DbId,
    data: ModerationDecision,
    session: Session,
    principal: Annotated[Principal, Depends(allow(*MODERATORS))],
) -> JSONResponse:
    return respond(200, SubmissionRead.model_validate(await service.reject(session, submission_id, data, principal)))
