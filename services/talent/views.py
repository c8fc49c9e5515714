"""Talent's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, allow
from services.common.db import get_session

from . import service
from .schemas import PersonCreate, PersonKind, PersonPage, PersonRead

router = APIRouter(prefix="/people", tags=["people 人才库"])

Session = Annotated[AsyncSession, Depends(get_session)]
READERS = (Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR, Role.SERVICE)


@router.post("", response_model=PersonRead, status_code=status.HTTP_201_CREATED, summary="Register a person")
async def create_person(
    data: PersonCreate, session: Session, _: Annotated[Principal, Depends(allow(Role.CLERK))]
) -> PersonRead:
    return PersonRead.model_validate(await service.register_person(session, data))


@router.get("/{person_id}", response_model=PersonRead, summary="One person")
async def read_person(
    person_id: int, session: Session, _: Annotated[Principal, Depends(allow(*READERS))]
) -> PersonRead:
    return PersonRead.model_validate(await service.get_person(session, person_id))


@router.get("", response_model=PersonPage, summary="List people, oldest first (keyset pagination)")
async def list_people(
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
    kind: PersonKind | None = None,
    after: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PersonPage:
    return await service.list_people(session, kind=kind, after=after, limit=limit)
