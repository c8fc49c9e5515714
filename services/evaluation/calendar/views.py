"""Official calendar routes (法定节假日安排)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.deadlines.working_days import OfficialSchedule
from services.common.problems import Problem

from . import service

router = APIRouter(prefix="/calendar", tags=["official calendar 节假日安排"])


class SchedulePage(BaseModel):
    items: list[OfficialSchedule]


class ScheduleLoaded(BaseModel):
    year: int
    follow_ups_replanned: int


@router.get("/schedules", response_model=SchedulePage, summary="Official schedules loaded by staff")
async def list_schedules(
    session: Session,
    _: Annotated[Principal, Depends(allow(Role.SERVICE, Role.CLERK, Role.OPERATOR, Role.COMMITTEE))],
) -> SchedulePage:
    return SchedulePage(items=await service.list_schedules(session))


@router.put(
    "/schedules/{year}",
    response_model=ScheduleLoaded,
    summary="Load a year's official schedule; provisional deadlines are recomputed",
)
async def load_schedule(
    year: Annotated[int, Path(ge=2000, le=2100)],
    schedule: OfficialSchedule,
    request: Request,
    session: Session,
    principal: Annotated[Principal, Depends(allow(Role.CLERK))],
) -> ScheduleLoaded:
    if schedule.year != year:
        raise Problem(422, "Invalid request", f"year: the body is for {schedule.year}, the path for {year}.")
    await service.load_schedule(session, schedule, principal)
    replanned = await service.recompute_provisional(await request.app.state.temporal.client())
    return ScheduleLoaded(year=year, follow_ups_replanned=replanned)
