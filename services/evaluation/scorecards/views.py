"""Scorecard routes: JSON by default, CSV with ?format=csv."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, PlainTextResponse

from services.common.auth import Principal, Role, allow
from services.common.db import Session, utcnow

from . import service
from .service import DepartmentScorecard, OrganiserScorecard, YearEndReport

router = APIRouter(prefix="/scorecards", tags=["scorecards 评价结果"])
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
    cards = await service.organiser_scorecards(session, plan_year=year, now=utcnow())
    if format_ == "csv":
        return PlainTextResponse(service.as_csv(cards), media_type="text/csv; charset=utf-8")
    return cards


REPORT = {200: {"content": {"text/csv": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}}},
                "description": "JSON; CSV with format=csv; a printable HTML page with format=html"}}


@router.get("/year-end", response_model=YearEndReport, responses=REPORT,
            summary="Year-end report (年终考评) per department and per organiser: JSON, CSV or a printable page")
async def year_end_report(
    session: Session,
    _: Annotated[Principal, Depends(allow(*READERS))],
    year: Annotated[int, Query(ge=2000, le=2100)],
    format_: Annotated[Literal["json", "csv", "html"], Query(alias="format")] = "json",
):
    report = await service.year_end_report(session, plan_year=year, now=utcnow())
    if format_ == "csv":
        return PlainTextResponse(service.year_end_csv(report), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="year-end-{year}.csv"'})
    if format_ == "html":
        return HTMLResponse(service.year_end_html(report))
    return report
