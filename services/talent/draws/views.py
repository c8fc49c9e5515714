"""Draws' routes: /draws (staff and the lifecycle) and the public list of draws
(/public/draws, no token). POSTs honour the Idempotency-Key through the request
guard (services/common/writes.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.types import Cursor, DbId

from ..deps import REPEATED, Reader
from . import service as draws
from .schemas import (
    DrawCreate,
    DrawPage,
    DrawRead,
    ProbabilityPage,
    PublicDraw,
    PublicDrawPage,
    PublishedPortfolio,
    ReplacementCreate,
    RevealCreate,
    VerificationRead,
    VoidCreate,
)

router = APIRouter(prefix="/draws", tags=["draws 抽选"])
public_router = APIRouter(prefix="/public/draws", tags=["public 公示"])

Drawer = Annotated[Principal, Depends(allow(Role.SERVICE, Role.CLERK))]
# Replacements follow the declines and silences the consultation's lifecycle recorded:
# only the lifecycle (the service principal) asks for them.
Lifecycle = Annotated[Principal, Depends(allow(Role.SERVICE))]


@router.post("", response_model=DrawRead, status_code=status.HTTP_201_CREATED, responses={
    **REPEATED,
    409: {"description": "This (consultation_id, round) already has a draw made from another request, or the "
          "consultation already has a draw that is not void"},
    422: {"description": "Invalid request (round 0 first, then one after a voided draw), or quotas that cannot be "
          "met (`constraint` names it); nothing stored"},
}, summary="Draw a consultation's participants (service, clerk); idempotent per (consultation_id, round)")
async def create_draw(data: DrawCreate, response: Response, session: Session, principal: Drawer) -> DrawRead:
    draw, created = await draws.create_draw(session, data, principal)
    if not created:
        response.status_code = status.HTTP_200_OK
    return draws.to_read(draw)


@router.post("/{draw_id}/replacements", response_model=DrawRead, status_code=status.HTTP_201_CREATED, responses={
    **REPEATED,
    409: {"description": "Another request for this round, the draw is void, or it is not the latest"},
    422: {"description": "Not the next round, declined not on the panel, or quotas that cannot be met with the "
          "kept members; nothing stored"},
}, summary="Replace the declined or silent (service: the lifecycle); the quotas still hold for the whole panel")
async def create_replacement(
    draw_id: DbId, data: ReplacementCreate, response: Response, session: Session, principal: Lifecycle,
) -> DrawRead:
    draw, created = await draws.create_replacement(session, draw_id, data, principal)
    if not created:
        response.status_code = status.HTTP_200_OK
    return draws.to_read(draw)


@router.post("/{draw_id}/reveal", response_model=DrawRead, responses={
    409: {"description": "No public randomness announced, the draw is void, the announced time has not come "
          "(Retry-After), or it was revealed with another value"},
    422: {"description": "The value does not have the announced format"},
}, summary="Bring the announced public random value and draw the panel (service, clerk); repeatable")
async def reveal_draw(
    draw_id: DbId, data: RevealCreate, session: Session, _: Drawer,
) -> DrawRead:
    return draws.to_read(await draws.reveal(session, draw_id, data))


@router.post("/{draw_id}/void", response_model=DrawRead, responses={
    409: {"description": "Not the consultation's latest draw, or voided before for another reason"},
}, summary="Void the latest draw, with a reason published beside it (clerk, service); repeatable")
async def void_draw(
    draw_id: DbId, data: VoidCreate, session: Session, principal: Drawer,
) -> DrawRead:
    return draws.to_read(await draws.void(session, draw_id, data, principal))


@router.get("/{draw_id}/portfolio", response_model=PublishedPortfolio,
            summary="Phase 1 as published before the panel: the portfolio, its hash, the commitment")
async def draw_portfolio(draw_id: DbId, session: Session, _: Reader) -> PublishedPortfolio:
    return draws.published_portfolio(await draws.get_draw(session, draw_id))


@router.get("", response_model=DrawPage, summary="List draws, oldest first (keyset pagination)")
async def list_draws(
    session: Session,
    _: Reader,
    consultation_id: Annotated[DbId | None, Query()] = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DrawPage:
    return await draws.list_draws(session, consultation_id=consultation_id, after=after, limit=limit)


@router.get("/{draw_id}", response_model=DrawRead, summary="One draw")
async def read_draw(draw_id: DbId, session: Session, _: Reader) -> DrawRead:
    return draws.to_read(await draws.get_draw(session, draw_id))


@router.get("/{draw_id}/probabilities", response_model=ProbabilityPage,
            summary="Each eligible person's exact selection probability (by person id, keyset pages)")
async def draw_probabilities(
    draw_id: DbId,
    session: Session,
    _: Reader,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 1000,
) -> ProbabilityPage:
    return draws.probabilities(await draws.get_draw(session, draw_id), after=after, limit=limit)


NOT_FINISHED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The draw has no panel yet (announced, waiting for its public value)"}}


@router.get("/{draw_id}/export", responses=NOT_FINISHED, summary="The draw record an auditor verifies offline "
            "(python -m services.talent.sortition.verify FILE)")
async def export_draw(draw_id: DbId, session: Session, _: Reader) -> JSONResponse:
    record = draws.drawn_record(await draws.get_draw(session, draw_id))
    return JSONResponse(record, headers={"Content-Disposition": f'attachment; filename="draw-{draw_id}.json"'})


@router.get("/{draw_id}/verify", response_model=VerificationRead, responses=NOT_FINISHED,
            summary="Verify the stored record: every check of the offline verifier, no solver")
async def verify_draw(draw_id: DbId, session: Session, _: Reader) -> VerificationRead:
    report = await draws.verify(session, await draws.get_draw(session, draw_id))
    return VerificationRead(ok=report.ok, passed=report.passed, failures=report.failures)


# ------------------------------------------------------------------------ public
@public_router.get("", response_model=PublicDrawPage,
                   summary="Every draw's announcement and outcome fingerprints, voided ones with their reason "
                   "(no token)")
async def list_public_draws(
    session: Session,
    consultation_id: Annotated[DbId | None, Query()] = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PublicDrawPage:
    return await draws.list_public(session, consultation_id=consultation_id, after=after, limit=limit)


@public_router.get("/{draw_id}", response_model=PublicDraw,
                   summary="One draw's announcement: portfolio hash, commitment, the public value to come and when "
                   "(no token)")
async def read_public_draw(draw_id: DbId, session: Session) -> PublicDraw:
    return draws.to_public(await draws.get_draw(session, draw_id))
