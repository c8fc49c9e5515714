"""Scorecard routes: JSON by default, CSV with ?format=csv."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, allow
from services.common.db import get_session, utcnow

from . import service
from .service import DepartmentScorecard, OrganiserScorecard

router = APIRouter(prefix="/scorecards", tags=["scorecards 评价结果"])
Session = Annotated[AsyncSession, Depends(get_session)]
READERS = (Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR)
Format = Annotated[Literal["json", "csv"], Query(alias="format")]
CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV with format=csv"}}


@router.get("/departments", response_model=list[DepartmentScorecard], responses=CSV,
            summary="Per implementing department: on-time rate, delays, escalations, satisfaction")
async def department_scorecards(
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    department: Annotated[str | None, Query(max_length=60)] = None,
    format_: Format = "json",
):
    cards = await service.department_scorecards(session, plan_year=year, department=department, now=utcnow())
    if format_ == "csv":
        return PlainTextResponse(service.as_csv(cards), media_type="text/csv; charset=utf-8")
    return cards


@router.get("/organisers", response_model=list[OrganiserScorecard], responses=CSV,
            summary="Per organiser and year: topic precision, outcome quality, commitments on time")
async def organiser_scorecards(
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    format_: Format = "json",
):
    cards = await service.organiser_scorecards(session, plan_year=year)
    if format_ == "csv":
        return PlainTextResponse(service.as_csv(cards), media_type="text/csv; charset=utf-8")
    return cards
