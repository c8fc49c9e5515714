"""Talent's HTTP routes: the pool (/people), draws (/draws) and the public list of
draws (/public/draws, no token).

Every route declares its roles and reads top-down into service.py (people),
imports.py (files) and draws.py (draws).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Header,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import STAFF_ROLES, Principal, Role, allow
from services.common.db import get_session
from services.common.idempotency import Idempotency, run_idempotent
from services.common.types import Cursor, DbId

from . import draws, service
from .imports import MAX_FILE_BYTES, parse_people_file
from .models import IDEMPOTENCY_KEYS
from .schemas import (
    DrawCreate,
    DrawPage,
    DrawRead,
    ImportResult,
    PersonCreate,
    PersonPage,
    PersonRead,
    PersonUpdate,
    ProbabilityPage,
    PublicDraw,
    PublicDrawPage,
    PublishedPortfolio,
    ReplacementCreate,
    RevealCreate,
    VerificationRead,
    VoidCreate,
)
from .vocabulary import AgeBand, Expertise, Gender, PersonKind

router = APIRouter(prefix="/people", tags=["people 人才库"])
draw_router = APIRouter(prefix="/draws", tags=["draws 抽选"])
public_router = APIRouter(prefix="/public/draws", tags=["public 公示"])
routers = (router, draw_router, public_router)

Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="A retried request with the same key returns the first answer"),
]
READERS = (*STAFF_ROLES, Role.SERVICE)
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
Drawer = Annotated[Principal, Depends(allow(Role.SERVICE, Role.CLERK))]
# Replacements follow the declines and silences the consultation's lifecycle recorded:
# only the lifecycle (the service principal) asks for them.
Lifecycle = Annotated[Principal, Depends(allow(Role.SERVICE))]
REPEATED: dict[int | str, dict[str, Any]] = {200: {"description": "Repeated request: the first answer"}}


# ------------------------------------------------------------------------ people
@router.post("", response_model=PersonRead, status_code=status.HTTP_201_CREATED, responses=REPEATED,
             summary="Register a person (clerk)")
async def create_person(
    data: PersonCreate, response: Response, session: Session, principal: Clerk, idempotency_key: IdempotencyKey = None
) -> PersonRead:
    person, created = await service.register_person(session, data, idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.to_read(person, principal)


@router.post("/import", response_model=ImportResult, status_code=status.HTTP_201_CREATED, responses={
    **REPEATED, 422: {"description": "Some rows are invalid: errors [{row, field, rule, message}], nothing stored"},
}, summary="Import people from a CSV or XLSX file, all rows or none (clerk)")
async def import_people(
    session: Session,
    response: Response,
    principal: Clerk,
    file: Annotated[UploadFile, File(description=f".csv (UTF-8 or GBK) or .xlsx, at most {MAX_FILE_BYTES // 2**20} MB")],
    idempotency_key: IdempotencyKey = None,
) -> ImportResult:
    parsed = parse_people_file(file.filename or "", file.content_type, await file.read(MAX_FILE_BYTES + 1))
    result, created = await service.import_people(session, parsed, principal, idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return result


@router.get("/{person_id:int}", response_model=PersonRead, summary="One person (contact details for clerks only)")
async def read_person(person_id: DbId, session: Session, principal: Reader) -> PersonRead:
    return service.to_read(await service.get_person(session, person_id), principal)


@router.patch("/{person_id:int}", response_model=PersonRead, summary="Change some fields of a person (clerk)")
async def update_person(person_id: DbId, data: PersonUpdate, session: Session, principal: Clerk) -> PersonRead:
    return service.to_read(await service.update_person(session, person_id, data), principal)


@router.delete("/{person_id:int}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Erase a person (clerk); past draw records keep the id and categorical values only")
async def delete_person(person_id: DbId, session: Session, _: Clerk) -> Response:
    await service.delete_person(session, person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=PersonPage, summary="List people, oldest first (keyset pagination, filters)")
async def list_people(
    session: Session,
    principal: Reader,
    kind: PersonKind | None = None,
    expertise: Expertise | None = None,
    tag: Annotated[str | None, Query(max_length=30)] = None,
    town: Annotated[str | None, Query(max_length=60)] = None,
    sector: Annotated[str | None, Query(max_length=60)] = None,
    gender: Gender | None = None,
    age_band: AgeBand | None = None,
    active: bool | None = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PersonPage:
    return await service.list_people(
        session, principal, kind=kind, expertise=expertise, tag=tag, town=town, sector=sector, gender=gender,
        age_band=age_band, active=active, after=after, limit=limit,
    )


# ------------------------------------------------------------------------ draws
@draw_router.post("", response_model=DrawRead, status_code=status.HTTP_201_CREATED, responses={
    **REPEATED,
    409: {"description": "This (consultation_id, round) already has a draw made from another request, or the "
          "consultation already has a draw that is not void"},
    422: {"description": "Invalid request (round 0 first, then one after a voided draw), or quotas that cannot be "
          "met (`constraint` names it); nothing stored"},
}, summary="Draw a consultation's participants (service, clerk); idempotent per (consultation_id, round)")
async def create_draw(data: DrawCreate, session: Session, principal: Drawer, idem: Idempotency) -> JSONResponse:
    async def handler() -> tuple[int, DrawRead]:
        draw, created = await draws.create_draw(session, data, principal)
        return (201 if created else 200), draws.to_read(draw)

    return await run_idempotent(session, IDEMPOTENCY_KEYS, idem, principal, handler)


@draw_router.post("/{draw_id}/replacements", response_model=DrawRead, status_code=status.HTTP_201_CREATED, responses={
    **REPEATED,
    409: {"description": "Another request for this round, the draw is void, or it is not the latest"},
    422: {"description": "Not the next round, declined not on the panel, or quotas that cannot be met with the "
          "kept members; nothing stored"},
}, summary="Replace the declined or silent (service: the lifecycle); the quotas still hold for the whole panel")
async def create_replacement(
    draw_id: DbId, data: ReplacementCreate, session: Session, principal: Lifecycle, idem: Idempotency,
) -> JSONResponse:
    async def handler() -> tuple[int, DrawRead]:
        draw, created = await draws.create_replacement(session, draw_id, data, principal)
        return (201 if created else 200), draws.to_read(draw)

    return await run_idempotent(session, IDEMPOTENCY_KEYS, idem, principal, handler)


@draw_router.post("/{draw_id}/reveal", response_model=DrawRead, responses={
    409: {"description": "No public randomness announced, the draw is void, the announced time has not come "
          "(Retry-After), or it was revealed with another value"},
    422: {"description": "The value does not have the announced format"},
}, summary="Bring the announced public random value and draw the panel (service, clerk); repeatable")
async def reveal_draw(
    draw_id: DbId, data: RevealCreate, session: Session, principal: Drawer, idem: Idempotency,
) -> JSONResponse:
    async def handler() -> tuple[int, DrawRead]:
        return 200, draws.to_read(await draws.reveal(session, draw_id, data))

    return await run_idempotent(session, IDEMPOTENCY_KEYS, idem, principal, handler)


@draw_router.post("/{draw_id}/void", response_model=DrawRead, responses={
    409: {"description": "Not the consultation's latest draw, or voided before for another reason"},
}, summary="Void the latest draw, with a reason published beside it (clerk, service); repeatable")
async def void_draw(
    draw_id: DbId, data: VoidCreate, session: Session, principal: Drawer, idem: Idempotency,
) -> JSONResponse:
    async def handler() -> tuple[int, DrawRead]:
        return 200, draws.to_read(await draws.void(session, draw_id, data, principal))

    return await run_idempotent(session, IDEMPOTENCY_KEYS, idem, principal, handler)


@draw_router.get("/{draw_id}/portfolio", response_model=PublishedPortfolio,
                 summary="Phase 1 as published before the panel: the portfolio, its hash, the commitment")
async def draw_portfolio(draw_id: DbId, session: Session, _: Reader) -> PublishedPortfolio:
    return draws.published_portfolio(await draws.get_draw(session, draw_id))


@draw_router.get("", response_model=DrawPage, summary="List draws, oldest first (keyset pagination)")
async def list_draws(
    session: Session,
    _: Reader,
    consultation_id: Annotated[DbId | None, Query()] = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DrawPage:
    return await draws.list_draws(session, consultation_id=consultation_id, after=after, limit=limit)


@draw_router.get("/{draw_id}", response_model=DrawRead, summary="One draw")
async def read_draw(draw_id: DbId, session: Session, _: Reader) -> DrawRead:
    return draws.to_read(await draws.get_draw(session, draw_id))


@draw_router.get("/{draw_id}/probabilities", response_model=ProbabilityPage,
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


@draw_router.get("/{draw_id}/export", responses=NOT_FINISHED, summary="The draw record an auditor verifies offline "
                 "(python -m services.talent.sortition.verify FILE)")
async def export_draw(draw_id: DbId, session: Session, _: Reader) -> JSONResponse:
    record = draws.drawn_record(await draws.get_draw(session, draw_id))
    return JSONResponse(record, headers={"Content-Disposition": f'attachment; filename="draw-{draw_id}.json"'})


@draw_router.get("/{draw_id}/verify", response_model=VerificationRead, responses=NOT_FINISHED,
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
