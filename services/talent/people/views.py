"""The pool's routes (/people): register, import, read, change, erase, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from services.common.db import Session
from services.common.types import Cursor, DbId

from ..deps import Clerk, Reader
from ..vocabulary import AgeBand, Expertise, Gender, PersonKind
from . import service
from .imports import MAX_FILE_BYTES, parse_people_file
from .schemas import ImportResult, PersonCreate, PersonPage, PersonRead, PersonUpdate

router = APIRouter(prefix="/people", tags=["people 人才库"])


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
