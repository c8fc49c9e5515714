"""Organisers and venues: reference data with their own endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from services.common.auth import Principal, Role, allow
from services.common.db import Session

from ..deps import READERS, respond
from . import service
from .models import Organiser, Venue
from .schemas import (
    OrganiserCreate,
    OrganiserKind,
    OrganiserRead,
    VenueCreate,
    VenueKind,
    VenueRead,
)

router = APIRouter(tags=["reference data 基础数据"])


@router.get("/organisers", response_model=list[OrganiserRead], summary="Organisers (专委会, 界别工作室, 同心圆工作室, 联络工作室)")
async def list_organisers(
    session: Session, _: Annotated[Principal, Depends(allow(*READERS))], kind: OrganiserKind | None = None
) -> list[OrganiserRead]:
    return [OrganiserRead.model_validate(o) for o in await service.list_all(session, Organiser, kind.value if kind else None)]


@router.post(
    "/organisers", status_code=status.HTTP_201_CREATED, response_model=OrganiserRead, summary="Add an organiser"
)
async def create_organiser(
    data: OrganiserCreate,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    return respond(201, OrganiserRead.model_validate(await service.create(session, Organiser, data)))


@router.get("/venues", response_model=list[VenueRead], summary="Venues (就地就近: halls and studios)")
async def list_venues(
    session: Session, _: Annotated[Principal, Depends(allow(*READERS))], kind: VenueKind | None = None
) -> list[VenueRead]:
    return [VenueRead.model_validate(v) for v in await service.list_all(session, Venue, kind.value if kind else None)]


@router.post("/venues", status_code=status.HTTP_201_CREATED, response_model=VenueRead, summary="Add a venue")
async def create_venue(
    data: VenueCreate,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> JSONResponse:
    return respond(201, VenueRead.model_validate(await service.create(session, Venue, data)))
