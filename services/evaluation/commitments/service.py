"""Commitment logic: store first, then tell the commitment's FollowUpWorkflow (through
``follow_up_client.py``, the one client), by the delivery rule of docs/architecture.md.

Commitments and actions are committed before Temporal is called, so nothing accepted is
lost: `deliver_pending` (a background loop) starts missing workflows and redelivers
actions whose delivery was interrupted. Actions go to the workflow as updates with
update id ``action-<id>``; the workflow's validator refuses an action that does not fit
its stage (or the follow-up has ended), and then the stored row is removed again, so a
refused action leaves nothing. Temporal down: 503 saying the action is stored and will
be delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.auth import Principal, Role
from services.common.db import insert_once, utcnow
from services.common.deadlines.escalation_policy import (
    PRODUCTION_POLICY,
    seconds_policy,
)
from services.common.pagination import keyset_page
from services.common.problems import PROBLEM_BASE, Problem
from services.common.settings import Settings, get_settings
from services.common.workflow_errors import (
    TemporalUnavailable,
    WorkflowEnded,
    WorkflowRefused,
)
from workflows.followup_types import (
    FollowUpAction,
    FollowUpStatus,
    followup_workflow_id,
)

from ..follow_up_client import FollowUpClient
from ..handling import hooks
from ..notifications.service import enqueue_notification
from .models import CoHandler, Commitment, CommitmentAction, EscalationEvent
from .schemas import (
    CommitmentCreate,
    CommitmentPage,
    CommitmentRead,
    CommitmentStateUpdate,
    EscalationEventCreate,
)

log = structlog.get_logger()

# Actions the workflow must hear about; the others are records only.
DELIVERED_KINDS = {"progress_report", "extension_granted", "completion", "verification", "satisfaction",
                   "reply", "reassign"}
# Records whose keeping has consequences (a notice) without the workflow's say.
NOTIFIED_RECORDS = {"extension_refused"}


def to_read(commitment: Commitment) -> CommitmentRead:
    return CommitmentRead.model_validate(
        {**{c: getattr(commitment, c) for c in CommitmentRead.model_fields if hasattr(commitment, c)},
         "workflow_id": followup_workflow_id(commitment.id)}
    )


# ---------------------------------------------------------------- commitments
async def create_commitment(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    data: CommitmentCreate,
    principal: Principal,
) -> Commitment:
    """Store the commitment, then start its follow-up (a retried request is answered by
    the request guard's Idempotency-Key, services/common/idempotency.py)."""
    policy = PRODUCTION_POLICY if data.policy == "production" else seconds_policy(data.seconds_scale)
    commitment = Commitment(
        consultation_topic_id=data.consultation_topic_id,
        department=data.department,
        leader_in_charge=data.leader_in_charge,
        content=data.content,
        organiser=data.organiser,
        plan_year=data.plan_year,
        original_due_at=data.due_at,
        due_at=data.due_at,
        policy=policy.model_dump(mode="json"),
        created_by=principal.subject,
        assigned_at=utcnow(),
        working_day_seconds=data.seconds_scale if data.policy == "seconds" else None,
    )
    calendar = await hooks.calendar_of(session) if data.co_handlers else None
    session.add(commitment)
    # 会办单位: committed with the commitment, each with its own opinion deadline.
    await session.flush()
    for co in data.co_handlers:
        due = co.due_at or hooks.after_working_days(
            commitment, commitment.assigned_at, settings.co_handling_opinion_working_days, calendar)
        session.add(CoHandler(commitment_id=commitment.id, department=co.department, due_at=min(due, data.due_at),
                              assigned_at=commitment.assigned_at))
    await session.commit()
    log.info("commitment.created", commitment_id=commitment.id, department=commitment.department)
    if temporal is not None:
        await start_follow_up(session, temporal, settings, commitment)
        await start_co_handlings(session, temporal, settings, commitment)
    return commitment


async def start_co_handlings(session: AsyncSession, temporal: Client | None, settings: Settings,
                             commitment: Commitment) -> int:
    """Start each co-handler's own follow-up (CoHandlingWorkflow) not started yet."""
    started = 0
    for co in (await session.scalars(
        select(CoHandler).where(CoHandler.commitment_id == commitment.id, CoHandler.workflow_started_at.is_(None))
    )).all():
        if not await FollowUpClient(temporal, settings).start_co_handling(co, commitment):
            break
        co.workflow_started_at = utcnow()
        await session.commit()
        started += 1
    return started


async def start_follow_up(session: AsyncSession, temporal: Client | None, settings: Settings, commitment: Commitment) -> bool:
    """Start the commitment's FollowUpWorkflow (through the one client); record it."""
    if not await FollowUpClient(temporal, settings).start(commitment):
        return False
    commitment.workflow_started_at = utcnow()
    await session.commit()
    return True


async def get_commitment(session: AsyncSession, commitment_id: int, principal: Principal) -> Commitment:
    commitment = await session.get(Commitment, commitment_id)
    if commitment is None:
        raise Problem(404, "Not Found", f"No commitment with id {commitment_id}.")
    if principal.role is Role.DEPARTMENT and principal.department != commitment.department:
        raise Problem(403, "Forbidden", f"This commitment belongs to {commitment.department}, not your department.")
    return commitment


async def list_commitments(
    session: AsyncSession,
    principal: Principal,
    *,
    department: str | None,
    status: str | None,
    min_level: int | None,
    after: int | None,
    limit: int,
) -> CommitmentPage:
    if principal.role is Role.DEPARTMENT:
        department = principal.department  # a department sees its own commitments only
    filters = []
    if department:
        filters.append(Commitment.department == department)
    if status:
        filters.append(Commitment.status == status)
    if min_level is not None:
        filters.append(Commitment.escalation_level >= min_level)
    page = await keyset_page(session, Commitment, filters, after=after, limit=limit)
    return CommitmentPage(items=[to_read(c) for c in page.rows], total=page.total, next_after=page.next_after)


# ---------------------------------------------------------------- actions
async def record_action(
    session: AsyncSession,
    temporal: Client | None,
    commitment: Commitment,
    principal: Principal,
    *,
    kind: str,
    payload: dict[str, Any],
    settings: Settings | None = None,
) -> CommitmentAction:
    """Store the action, then deliver it."""
    action = CommitmentAction(
        commitment_id=commitment.id,
        kind=kind,
        payload=payload,
        actor=principal.subject,
        actor_role=principal.role.value,
        outcome="pending" if kind in DELIVERED_KINDS else "recorded",
    )
    session.add(action)
    if kind in NOTIFIED_RECORDS:
        await session.flush()
        await hooks.after_accepted(session, commitment, action, settings or get_settings())
    await session.commit()
    log.info("commitment.action_recorded", commitment_id=commitment.id, action_id=action.id, kind=kind)
    if action.outcome == "pending" and commitment.workflow_started_at is not None:
        # Committed first; the delivery loop re-sends what is still pending.
        await deliver_action(session, temporal, commitment, action, settings)
    return action


def _as_update(action: CommitmentAction) -> FollowUpAction:
    p = action.payload
    return FollowUpAction(
        action_id=action.id,
        kind=action.kind,
        at=action.created_at.isoformat(),
        new_due_at=p.get("new_due_at"),
        passed=p.get("passed"),
        rating=p.get("rating"),
        reply_class=p.get("reply_class"),
        department=p.get("department"),
    )


async def deliver_action(
    session: AsyncSession, temporal: Client | None, commitment: Commitment, action: CommitmentAction,
    settings: Settings | None = None,
) -> None:
    """Deliver the stored (pending) action. Accepted → ``accepted``; refused by the
    workflow's validator, or the follow-up has ended → the row is removed (nothing
    remains of it) and the 409 raised; no answer → it stays pending and the 503 is
    raised (``stored: true, will_be_delivered: true``): ``deliver_pending`` re-sends it."""
    try:
        await FollowUpClient(temporal).apply_action(commitment.id, _as_update(action))
    except (WorkflowRefused, WorkflowEnded):
        await session.delete(action)
        await session.commit()
        raise
    except Problem as exc:
        log.warning("commitment.action_delivery_deferred", action_id=action.id, status=exc.status)
        raise
    action.outcome = "accepted"
    action.delivered_at = utcnow()
    if action.kind == "extension_granted":
        commitment.due_at = datetime.fromisoformat(action.payload["new_due_at"])
    await hooks.after_accepted(session, commitment, action, settings or get_settings())
    await session.commit()


async def find_extension_request(session: AsyncSession, commitment: Commitment, request_id: int) -> CommitmentAction:
    request = await session.get(CommitmentAction, request_id)
    if request is None or request.commitment_id != commitment.id or request.kind != "extension_request":
        raise Problem(404, "Not Found", f"Commitment {commitment.id} has no extension request {request_id}.")
    decided = await session.scalar(
        select(CommitmentAction).where(
            CommitmentAction.commitment_id == commitment.id,
            CommitmentAction.kind.in_(("extension_granted", "extension_refused")),
            CommitmentAction.outcome.in_(("accepted", "recorded", "pending")),
        ).where(CommitmentAction.payload["request_id"].as_integer() == request_id)
    )
    if decided is not None:
        raise Problem(409, "Conflict", f"Extension request {request_id} was already decided ({decided.kind}).")
    return request


async def list_actions(session: AsyncSession, commitment: Commitment) -> list[CommitmentAction]:
    return list(
        (
            await session.scalars(
                select(CommitmentAction).where(CommitmentAction.commitment_id == commitment.id).order_by(CommitmentAction.id)
            )
        ).all()
    )


# ---------------------------------------------------------------- from the workflow
# Who hears of each rung: the department always; the ladder widens the circle.
_RECIPIENTS = {
    "reminder": ("department",),
    "progress_missing": ("department",),
    "urge": ("department", "office:cppcc"),
    "committee_supervision": ("department", "office:cppcc", "committee"),
    "meeting_supervision": ("department", "office:cppcc", "committee", "chair:cppcc"),
    "circulated_notice": ("department", "office:cppcc", "committee", "chair:cppcc", "office:county_government"),
}


def recipients_for(step: str, commitment: Commitment) -> list[str]:
    out = []
    for who in _RECIPIENTS.get(step, ("department", "office:cppcc")):
        if who == "department":
            out.append(f"department:{commitment.department}")
        elif who == "committee":
            out.append(f"committee:{commitment.organiser or 'supervision'}")
        else:
            out.append(who)
    return out


async def record_escalation(
    session: AsyncSession, commitment: Commitment, data: EscalationEventCreate
) -> tuple[EscalationEvent, bool]:
    co_handler = None
    if data.co_handler_id is not None:
        co_handler = await session.get(CoHandler, data.co_handler_id)
        if co_handler is None or co_handler.commitment_id != commitment.id:
            raise Problem(422, "Invalid request", f"co_handler_id: commitment {commitment.id} has no co-handler "
                          f"{data.co_handler_id}.")

    async def notify() -> None:
        # The notice is committed with the event: one exists exactly when the other does.
        # A co-handler's rung goes to the co-handler (its own ladder), not to the lead.
        department = co_handler.department if co_handler else commitment.department
        recipients = recipients_for(data.step, commitment)
        if co_handler is not None:
            recipients = [f"department:{department}" if r == f"department:{commitment.department}" else r
                          for r in recipients]
            co_handler.escalation_level = max(co_handler.escalation_level, data.level)
        payload = {
            "commitment_id": commitment.id,
            "workflow_id": followup_workflow_id(commitment.id),
            "department": department,
            "step": data.step,
            "level": data.level,
            "summary": data.summary,
            "due_at": (co_handler.due_at if co_handler else commitment.due_at).isoformat(),
        }
        if co_handler is not None:
            payload["co_handler_id"] = co_handler.id
        await enqueue_notification(
            session,
            idempotency_key=f"notify-{data.event_key}",
            kind=f"escalation.{data.step}" if co_handler is None else f"co_handling.escalation.{data.step}",
            recipients=recipients,
            payload=payload,
        )
        if data.state is not None:
            # The workflow's state after this rung, in the same transaction: a record
            # that exists had its state applied with it, so a retried or late duplicate
            # (not created) applies nothing and cannot set back a newer state.
            await _mirror(session, commitment, data.state)

    event, created = await insert_once(
        session, EscalationEvent(**data.model_dump(exclude={"state"})), EscalationEvent.event_key, data.event_key,
        with_it=notify,
    )
    if not created:
        return event, False
    log.info("commitment.escalated", commitment_id=event.commitment_id, step=event.step, level=event.level)
    return event, True


async def list_escalations(session: AsyncSession, commitment_id: int) -> list[EscalationEvent]:
    return list(
        (
            await session.scalars(
                select(EscalationEvent).where(EscalationEvent.commitment_id == commitment_id).order_by(EscalationEvent.id)
            )
        ).all()
    )


async def apply_state(session: AsyncSession, commitment: Commitment, state: CommitmentStateUpdate) -> Commitment:
    """Mirror the workflow's state. Setting a state is idempotent by nature."""
    await _mirror(session, commitment, state)
    await session.commit()
    return commitment


async def _mirror(session: AsyncSession, commitment: Commitment, state: CommitmentStateUpdate) -> None:
    """The workflow's state onto the row, without committing (a rung's record commits it
    with the event, state-with-record-v1; ``apply_state`` on its own)."""
    # 不满意 sends it back: a reopening, or (past the allowed reopenings) straight to the
    # top of the ladder; either way verified → open again.
    was_reopened = state.reopenings > commitment.reopenings or (
        commitment.status == "verified" and state.status == "open" and state.satisfaction == "unsatisfied")
    commitment.status = state.status
    commitment.escalation_level = state.escalation_level
    commitment.due_at = state.due_at
    commitment.reopenings = state.reopenings
    commitment.completed_at = state.completed_at
    commitment.closed_at = state.closed_at
    commitment.satisfaction = state.satisfaction
    if state.reply_class is not None:
        commitment.reply_class = state.reply_class
    if was_reopened:
        await hooks.reopened(session, commitment, state.reopenings)


# ---------------------------------------------------------------- needs attention
async def resume_follow_up(temporal: Client | None, commitment: Commitment) -> FollowUpStatus:
    """Resume a follow-up that needs attention (待处理), once per attention episode."""
    client = FollowUpClient(temporal)
    status = await client.status(commitment.id)
    if status.needs_attention is None:
        raise Problem(409, "Nothing to resume", f"The follow-up of commitment {commitment.id} does not need attention "
                      f"(stage {status.stage}).", type_=PROBLEM_BASE + "nothing-to-resume", stage=status.stage)
    return await client.resume(commitment.id, status.needs_attention.episode)


# ---------------------------------------------------------------- recovery
async def deliver_pending(session: AsyncSession, temporal: Client, settings: Settings) -> int:
    """Start follow-ups that never started and redeliver interrupted actions."""
    done = 0
    cutoff = utcnow() - timedelta(seconds=5)  # leave requests in flight alone
    for commitment in (
        await session.scalars(
            select(Commitment)
            .where(Commitment.workflow_started_at.is_(None), Commitment.created_at <= cutoff)
            .order_by(Commitment.id)
            .limit(100)
        )
    ).all():
        done += await start_follow_up(session, temporal, settings, commitment)
    for commitment in (
        await session.scalars(
            select(Commitment)
            .join(CoHandler, CoHandler.commitment_id == Commitment.id)
            .where(CoHandler.workflow_started_at.is_(None), Commitment.workflow_started_at.is_not(None),
                   CoHandler.assigned_at <= cutoff)
            .distinct().limit(100)
        )
    ).all():
        done += await start_co_handlings(session, temporal, settings, commitment)
    for action in (
        await session.scalars(
            select(CommitmentAction)
            .where(CommitmentAction.outcome == "pending", CommitmentAction.created_at <= cutoff)
            .order_by(CommitmentAction.id)
            .limit(100)
        )
    ).all():
        commitment = await session.get(Commitment, action.commitment_id)
        if commitment is None or commitment.workflow_started_at is None:
            continue
        try:
            await deliver_action(session, temporal, commitment, action, settings)
            done += 1
        except (WorkflowRefused, WorkflowEnded):
            log.info("commitment.redelivered_action_refused", action_id=action.id)
            if action.kind == "reassign":
                await hooks.reassignment_refused(session, action.payload["objection_id"])
            done += 1
        except TemporalUnavailable:
            break  # still down: the next pass
        except Problem:
            continue
    return done
