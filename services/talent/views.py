"""Talent's HTTP routes: the pool (/people) and draws (/draws).

Every route declares its roles and reads top-down into service.py (people),
imports.py (files) and draws.py (draws).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import STAFF_ROLES, Principal, Role, allow
from services.common.db import get_session
from services.common.types import Cursor, DbId

from . import draws, service
from .imports import MAX_FILE_BYTES, parse_people_file
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
    PublishedPortfolio,
    ReplacementCreate,
    RevealCreate,
    VerificationRead,
)
from .vocabulary import AgeBand, Expertise, Gender, PersonKind

router = APIRouter(prefix="/people", tags=["people 人才库"])
draw_router = APIRouter(prefix="/draws", tags=["draws 抽选"])
routers = (router, draw_router)

Session = Annotated[AsyncSession, Depends(get_session)]
READERS = (*STAFF_ROLES, Role.SERVICE)
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
Drawer = Annotated[Principal, Depends(allow(Role.SERVICE, Role.CLERK))]
REPEATED: dict[int | str, dict[str, Any]] = {200: {"description": "Repeated request: the first answer"}}


# ------------------------------------------------------------------------ people
@router.post("", response_model=PersonRead, status_code=status.HTTP_201_CREATED, summary="Register a person (clerk)")
async def create_person(data: PersonCreate, session: Session, principal: Clerk) -> PersonRead:
    return service.to_read(await service.register_person(session, data), principal)


@router.post("/import", response_model=ImportResult, status_code=status.HTTP_201_CREATED, responses={
    422: {"description": "Some rows are invalid: errors [{row, field, rule, message}], nothing stored"},
}, summary="Import people from a CSV or XLSX file, all rows or none (clerk)")
async def import_people(
    session: Session,
    principal: Clerk,
    file: Annotated[UploadFile, File(description=f".csv (UTF-8 or GBK) or .xlsx, at most {MAX_FILE_BYTES // 2**20} MB")],
) -> ImportResult:
    parsed = parse_people_file(file.filename or "", file.content_type, await file.read(MAX_FILE_BYTES + 1))
    return await service.import_people(session, parsed, principal)


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
    409: {"description": "This (consultation_id, round) already has a draw made from another request"},
    422: {"description": "Invalid request, or quotas that cannot be met (`constraint` names it); nothing stored"},
}, summary="Draw a consultation's participants (service, clerk); idempotent per (consultation_id, round)")
async def create_draw(
    data: DrawCreate, response: Response, session: Session, principal: Drawer,
) -> DrawRead:
    draw, created = await draws.create_draw(session, data, principal)
    if not created:
        response.status_code = status.HTTP_200_OK
    return draws.to_read(draw)


@draw_router.post("/{draw_id}/replacements", response_model=DrawRead, status_code=status.HTTP_201_CREATED, responses={
    **REPEATED,
    409: {"description": "This (consultation_id, round) already has a draw made from another request"},
    422: {"description": "Invalid request, or quotas that cannot be met with the kept members; nothing stored"},
}, summary="Replace those who declined (service, clerk); the quotas still hold for the whole panel")
async def create_replacement(
    draw_id: DbId, data: ReplacementCreate, response: Response, session: Session, principal: Drawer,
) -> DrawRead:
    draw, created = await draws.create_replacement(session, draw_id, data, principal)
    if not created:
        response.status_code = status.HTTP_200_OK
    return draws.to_read(draw)


@draw_router.post("/{draw_id}/reveal", response_model=DrawRead, responses={
    409: {"description": "The draw announced no public randomness, or was revealed with another value"},
}, summary="Bring the announced public random value and draw the panel (service, clerk); repeatable")
async def reveal_draw(
    draw_id: DbId, data: RevealCreate, session: Session, _: Drawer,
) -> DrawRead:
    return draws.to_read(await draws.reveal(session, draw_id, data))


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


@draw_router.get("/{draw_id}/export", summary="The draw record an auditor verifies offline "
                 "(python -m services.talent.sortition.verify FILE)")
async def export_draw(draw_id: DbId, session: Session, _: Reader) -> JSONResponse:
    record = draws.drawn_record(await draws.get_draw(session, draw_id))
    return JSONResponse(record, headers={"Content-Disposition": f'attachment; filename="draw-{draw_id}.json"'})


@draw_router.get("/{draw_id}/verify", response_model=VerificationRead,
                 summary="Verify the stored record: every check of the offline verifier, no solver")
async def verify_draw(draw_id: DbId, session: Session, _: Reader) -> VerificationRead:
    record = draws.drawn_record(await draws.get_draw(session, draw_id))
    report = await draws.verify(record)
    return VerificationRead(ok=report.ok, passed=report.passed, failures=report.failures)
