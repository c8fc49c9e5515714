"""What follows when the follow-up workflow accepts a handling action (or a record is
kept), committed with the action's outcome: the reply's disclosure review is opened, a
reassignment moves the record to the new department, and the departments and the office
hear of it through the outbox (docs/notifications.md). Imported by commitments.service,
so it imports nothing of it."""

from __future__ import annotations

import calendar as month_calendar
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.deadlines.working_days import (
    DEFAULT_CLOCK,
    OfficialCalendar,
    OfficialSchedule,
    add_working_days,
    working_day_deadline,
)
from services.common.settings import Settings
from workflows.followup_types import followup_workflow_id

from ..commitments.models import AssignmentObjection, Commitment, CommitmentAction, CommitmentReply, OfficialScheduleRecord
from ..notifications.service import enqueue_notification

# A month of working days on a seconds scale (the official calendar counts real months).
WORKING_DAYS_PER_MONTH = 21


async def calendar_of(session: AsyncSession) -> OfficialCalendar:
    rows = (await session.scalars(select(OfficialScheduleRecord).order_by(OfficialScheduleRecord.year))).all()
    return OfficialCalendar([OfficialSchedule.model_validate(r.schedule) for r in rows])


def after_working_days(commitment: Commitment, start: datetime, n: int, calendar: OfficialCalendar) -> datetime:
    """The end of the n-th working day after ``start``, on the commitment's scale."""
    if commitment.working_day_seconds:
        return start + timedelta(seconds=n * commitment.working_day_seconds)
    return working_day_deadline(DEFAULT_CLOCK.local_date(start), n, calendar).at


def extension_limit(commitment: Commitment, settings: Settings, calendar: OfficialCalendar) -> datetime:
    """The latest due date extensions may reach: ``reply_limit_months`` past the original
    due date, all extensions together (six months in all by default)."""
    original = commitment.original_due_at
    months = settings.reply_limit_months
    if commitment.working_day_seconds:
        return original + timedelta(seconds=months * WORKING_DAYS_PER_MONTH * commitment.working_day_seconds)
    day = DEFAULT_CLOCK.local_date(original)
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = month_calendar.monthrange(year, month)[1]
    target = day.replace(year=year, month=month, day=min(day.day, last))
    return DEFAULT_CLOCK.end_of_working_day(add_working_days(target, 0, calendar).date)


def lead_recipients(commitment: Commitment, *extra: str) -> list[str]:
    return [f"department:{commitment.department}", "office:cppcc", *extra]


async def after_accepted(
    session: AsyncSession, commitment: Commitment, action: CommitmentAction, settings: Settings
) -> None:
    """Runs in the transaction that marks ``action`` accepted (or records it)."""
    base = {"commitment_id": commitment.id, "workflow_id": followup_workflow_id(commitment.id),
            "department": commitment.department}
    if action.kind == "reply":
        calendar = await calendar_of(session)
        now = utcnow()
        session.add(CommitmentReply(
            commitment_id=commitment.id, action_id=action.id, department=commitment.department,
            reply_class=action.payload["reply_class"], text=action.payload["text"], answered_at=action.created_at,
            review_due_at=after_working_days(commitment, now, settings.disclosure_review_working_days, calendar),
        ))
        commitment.reply_class = action.payload["reply_class"]
        await enqueue_notification(
            session, idempotency_key=f"commitment-{commitment.id}-reply-{action.id}", kind="reply.received",
            recipients=["office:cppcc"], payload={**base, "reply_class": action.payload["reply_class"]},
        )
    elif action.kind == "reassign":
        before = commitment.department
        objection = await session.get(AssignmentObjection, action.payload["objection_id"])
        commitment.department = action.payload["department"]
        commitment.assigned_at = utcnow()
        if action.payload.get("new_due_at"):
            commitment.due_at = datetime.fromisoformat(action.payload["new_due_at"])
        if objection is not None:
            objection.status = "reassigned"
        await enqueue_notification(
            session, idempotency_key=f"commitment-{commitment.id}-reassigned-{action.id}", kind="assignment.reassigned",
            recipients=[f"department:{before}", f"department:{commitment.department}", "office:cppcc"],
            payload={**base, "from_department": before, "objection_id": action.payload["objection_id"],
                     "due_at": commitment.due_at.isoformat()},
        )
    elif action.kind in ("extension_granted", "extension_refused"):
        await enqueue_notification(
            session, idempotency_key=f"commitment-{commitment.id}-extension-decided-{action.id}",
            kind="extension.decided", recipients=lead_recipients(commitment),
            payload={**base, "request_id": action.payload["request_id"], "granted": action.kind == "extension_granted",
                     "due_at": action.payload["new_due_at"] if action.kind == "extension_granted"
                     else commitment.due_at.isoformat()},
        )


async def reassignment_refused(session: AsyncSession, objection_id: int) -> None:
    """The follow-up refused a reassignment the reconciler re-sent (it had ended, or
    moved on): nothing moved, so the objection awaits the office's decision again."""
    objection = await session.get(AssignmentObjection, objection_id)
    if objection is not None and objection.status == "reassigning":
        objection.status, objection.reassigned_to, objection.new_due_at = "pending", None, None
        await session.commit()


async def reopened(session: AsyncSession, commitment: Commitment, reopenings: int) -> None:
    """不满意 sent the commitment back for handling: the department, the office and the
    supervising committee hear of it (one notice per reopening; the new due date tells
    apart the reopenings past the allowed number, which go to the top of the ladder)."""
    await enqueue_notification(
        session, idempotency_key=f"commitment-{commitment.id}-reopened-{reopenings}-"
                                 f"{round(commitment.due_at.timestamp() * 1_000_000)}",
        kind="commitment.reopened",
        recipients=lead_recipients(commitment, f"committee:{commitment.organiser or 'supervision'}"),
        payload={"commitment_id": commitment.id, "workflow_id": followup_workflow_id(commitment.id),
                 "department": commitment.department, "reopenings": reopenings,
                 "due_at": commitment.due_at.isoformat()},
    )
