"""Residents' routes: the public session, co-signatures (联名), a topic's submitters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.common.auth import Principal, Role, allow
from services.common.client_identity import request_client_address
from services.common.db import Session
from services.common.types import DbId

from . import service
from .identity import provider_for
from .schemas import CosignRead, SessionCreate, SessionRead, SubmittersRead

router = APIRouter(tags=["residents 居民 · 联名"])


@router.post(
    "/public/session",
    status_code=201,
    response_model=SessionRead,
    responses={429: {"description": "Too many sign-ins from this device or address; see Retry-After"}},
    summary="A resident signs in on the public page: a device-bound public token (no token needed)",
)
async def open_session(data: SessionCreate, request: Request, session: Session) -> SessionRead:
    settings = request.app.state.settings
    provider = getattr(request.app.state, "identity_provider", None) or provider_for(settings)
    return await service.open_session(session, settings, provider, data, request_client_address(request))


@router.post(
    "/public/topics/{topic_id}/cosign",
    status_code=201,
    response_model=CosignRead,
    responses={
        200: {"description": "Co-signed before: the first co-signature", "model": CosignRead},
        429: {"description": "Too many co-signatures; see Retry-After"},
    },
    summary="联名: a resident co-signs a public topic (once per resident; a repeat answers the first)",
)
async def cosign(
    topic_id: DbId, request: Request, session: Session, principal: Annotated[Principal, Depends(allow(Role.PUBLIC))]
) -> JSONResponse:
    record, created = await service.cosign(session, topic_id, principal, request_client_address(request))
    return JSONResponse(record.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(
    "/topics/{topic_id}/submitters",
    response_model=SubmittersRead,
    summary="Everyone to tell about a topic: submitters of every merged submission (并案) and co-signers (联名)",
)
async def topic_submitters(
    topic_id: DbId, session: Session, _: Annotated[Principal, Depends(allow(Role.SERVICE, Role.CLERK))]
) -> SubmittersRead:
    return await service.topic_submitters(session, topic_id)
