"""Official holiday schedules loaded by staff, and re-planning provisional deadlines."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.auth import Principal
from services.common.db import utcnow

from ..commitments.models import OfficialScheduleRecord
from ..follow_up_client import FollowUpClient
from services.common.deadlines.working_days import OfficialSchedule

log = structlog.get_logger()

PROVISIONAL_FOLLOW_UPS = "WorkflowType = 'FollowUpWorkflow' AND ExecutionStatus = 'Running' AND DeadlineProvisional = true"


async def list_schedules(session: AsyncSession) -> list[OfficialSchedule]:
    rows = (await session.scalars(select(OfficialScheduleRecord).order_by(OfficialScheduleRecord.year))).all()
    return [OfficialSchedule.model_validate(r.schedule) for r in rows]


async def load_schedule(session: AsyncSession, schedule: OfficialSchedule, principal: Principal) -> None:
    record = await session.get(OfficialScheduleRecord, schedule.year)
    if record is None:
        record = OfficialScheduleRecord(year=schedule.year, schedule={}, loaded_by=principal.subject)
        session.add(record)
    record.schedule = schedule.model_dump(mode="json")
    record.loaded_by = principal.subject
    record.loaded_at = utcnow()
    await session.commit()
    log.info("calendar.schedule_loaded", year=schedule.year)


async def recompute_provisional(temporal: Client) -> int:
    """Signal every follow-up whose deadline rests on a guessed year to re-plan."""
    client = FollowUpClient(temporal)
    count = 0
    async for execution in client.provisional(PROVISIONAL_FOLLOW_UPS):
        await client.calendar_changed(execution.id)
        count += 1
    return count
