"""Proposal handling (办理): co-handlers' opinions, objections and reassignment, replies
and their disclosure review. Same delivery rule as every action (docs/architecture.md):
check, store, deliver through the FollowUpClient, reconcile.

- A reply and a lead reassignment are commitment actions (kinds ``reply``,
  ``reassign``) delivered to the FollowUpWorkflow; what follows their acceptance
  (review opened, record moved, notices) is in hooks.py.
- A co-handler's opinion and a co-handler's reassignment go to its CoHandlingWorkflow;
  the row carries the pending marker (``opinion_pending``, objection ``reassigning``)
  until the workflow has accepted, and ``deliver_pending_handling`` re-sends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.auth import Principal, Role
from services.common.db import utcnow
from services.common.problems import PROBLEM_BASE, Problem
from services.common.redact import scrub_personal_data
from services.common.settings import Settings
from services.common.workflow_errors import TemporalUnavailable, WorkflowEnded, WorkflowRefused
from workflows.followup_types import CoReassign, cohandling_workflow_id

from ..commitments import service as commitments
from ..commitments.models import AssignmentObjection, CoHandler, Commitment, CommitmentReply
from ..follow_up_client import FollowUpClient
from ..notifications.service import enqueue_notification
from . import hooks
from .schemas import CoHandlerRead, ObjectionCreate, ObjectionDecisionCreate, ReviewCreate

log = structlog.get_logger()


def co_handler_read(co: CoHandler) -> CoHandlerRead:
    return CoHandlerRead.model_validate({**{k: getattr(co, k) for k in CoHandlerRead.model_fields if hasattr(co, k)},
                                         "workflow_id": cohandling_workflow_id(co.id)})


async def commitment_for(session: AsyncSession, commitment_id: int, principal: Principal) -> Commitment:
    """The commitment, readable by staff, its lead department and its co-handlers."""
    commitment = await session.get(Commitment, commitment_id)
    if commitment is None:
        raise Problem(404, "Not Found", f"No commitment with id {commitment_id}.")
    if principal.role is Role.DEPARTMENT and principal.department != commitment.department:
        co = await session.scalar(select(CoHandler).where(CoHandler.commitment_id == commitment.id,
                                                          CoHandler.department == principal.department))
        if co is None:
            raise Problem(403, "Forbidden", "This commitment is neither led nor co-handled by your department.")
    return commitment


async def list_co_handlers(session: AsyncSession, commitment: Commitment) -> list[CoHandler]:
    return list((await session.scalars(
        select(CoHandler).where(CoHandler.commitment_id == commitment.id).order_by(CoHandler.id))).all())


async def get_co_handler(session: AsyncSession, commitment: Commitment, co_handler_id: int) -> CoHandler:
    co = await session.get(CoHandler, co_handler_id)
    if co is None or co.commitment_id != commitment.id:
        raise Problem(404, "Not Found", f"Commitment {commitment.id} has no co-handler {co_handler_id}.")
    return co


# ---------------------------------------------------------------- opinions
async def submit_opinion(session: AsyncSession, temporal: Client | None, co: CoHandler, principal: Principal,
                         opinion: str) -> CoHandler:
    if principal.department != co.department:
        raise Problem(403, "Forbidden", f"This co-handling is assigned to {co.department}, not your department.")
    if co.status == "submitted":
        raise Problem(409, "Conflict", f"Co-handler {co.id} gave its opinion already.")
    if co.status == "open":
        co.status, co.opinion, co.opinion_at = "opinion_pending", opinion, utcnow()
        await session.commit()
    # else: a pending opinion is re-sent (the first text stands)
    await deliver_opinion(session, temporal, co)
    return co


async def deliver_opinion(session: AsyncSession, temporal: Client | None, co: CoHandler) -> None:
    if co.workflow_started_at is None:
        raise TemporalUnavailable("co-handling", stored=True, will_be_delivered=True)
    try:
        await FollowUpClient(temporal).opinion_delivered(co.id, co.opinion_at.isoformat())
    except (WorkflowRefused, WorkflowEnded):
        # The workflow has the opinion already (a redelivery after a crash): it stands.
        pass
    co.status = "submitted"
    commitment = await session.get(Commitment, co.commitment_id)
    await enqueue_notification(
        session, idempotency_key=f"co-handler-{co.id}-opinion", kind="co_handling.opinion_received",
        recipients=[f"department:{commitment.department}", "office:cppcc"],
        payload={"commitment_id": co.commitment_id, "co_handler_id": co.id, "co_handler_department": co.department},
    )
    await session.commit()


# ---------------------------------------------------------------- objections (交办异议)
async def raise_objection(session: AsyncSession, settings: Settings, commitment: Commitment, principal: Principal,
                          data: ObjectionCreate) -> AssignmentObjection:
    if data.co_handler_id is not None:
        co = await get_co_handler(session, commitment, data.co_handler_id)
        assigned_to, assigned_at = co.department, co.assigned_at
        if co.status != "open":
            raise Problem(409, "Conflict", f"Co-handler {co.id} gave its opinion already: nothing to object to.")
    else:
        assigned_to, assigned_at = commitment.department, commitment.assigned_at or commitment.created_at
        if commitment.status != "open":
            raise Problem(409, "Conflict", f"Commitment {commitment.id} is {commitment.status}: nothing to object to.")
    if principal.department != assigned_to:
        raise Problem(403, "Forbidden", f"Only {assigned_to}, the department assigned, may object to this assignment.")
    closes = hooks.after_working_days(commitment, assigned_at, settings.objection_window_working_days,
                                      await hooks.calendar_of(session))
    if utcnow() > closes:
        raise Problem(409, "Objection window closed",
                      f"An assignment is objected to within {settings.objection_window_working_days} working days; "
                      f"this one closed at {closes.isoformat()}.", type_=PROBLEM_BASE + "objection-window-closed",
                      closed_at=closes.isoformat())
    open_one = await session.scalar(select(AssignmentObjection).where(
        AssignmentObjection.commitment_id == commitment.id, AssignmentObjection.co_handler_id == data.co_handler_id
        if data.co_handler_id is not None else AssignmentObjection.co_handler_id.is_(None),
        AssignmentObjection.status.in_(("pending", "reassigning"))))
    if open_one is not None:
        raise Problem(409, "Conflict", f"Objection {open_one.id} to this assignment awaits the office's decision.")
    objection = AssignmentObjection(commitment_id=commitment.id, co_handler_id=data.co_handler_id,
                                    department=assigned_to, reason=data.reason, raised_by=principal.subject)
    session.add(objection)
    await session.flush()
    await enqueue_notification(
        session, idempotency_key=f"objection-{objection.id}-raised", kind="assignment.objected",
        recipients=["office:cppcc"],
        payload={"commitment_id": commitment.id, "objection_id": objection.id, "department": assigned_to,
                 "co_handler_id": data.co_handler_id},
    )
    await session.commit()
    log.info("assignment.objected", commitment_id=commitment.id, objection_id=objection.id)
    return objection


async def get_objection(session: AsyncSession, commitment: Commitment, objection_id: int) -> AssignmentObjection:
    objection = await session.get(AssignmentObjection, objection_id)
    if objection is None or objection.commitment_id != commitment.id:
        raise Problem(404, "Not Found", f"Commitment {commitment.id} has no objection {objection_id}.")
    return objection


async def decide_objection(
    session: AsyncSession, temporal: Client | None, settings: Settings, commitment: Commitment,
    objection: AssignmentObjection, principal: Principal, data: ObjectionDecisionCreate,
) -> AssignmentObjection:
    """The office dismisses the objection or reassigns; the objection stays on record."""
    if objection.status == "reassigning":
        await deliver_reassignment(session, temporal, settings, commitment, objection)  # re-send what is pending
        return objection
    if objection.status != "pending":
        raise Problem(409, "Conflict", f"Objection {objection.id} was decided already ({objection.status}).")
    if data.reassign_to is not None:
        taken = {commitment.department} | {c.department for c in await list_co_handlers(session, commitment)}
        if data.reassign_to in taken:
            raise Problem(422, "Invalid request", f"reassign_to: {data.reassign_to} already handles this commitment.",
                          errors=[{"field": "body.reassign_to", "rule": "distinct", "message": "already assigned"}])
        if data.new_due_at is not None and data.new_due_at <= utcnow():
            raise Problem(422, "Invalid request", "new_due_at: must lie ahead.",
                          errors=[{"field": "body.new_due_at", "rule": "future", "message": "must lie ahead"}])
    objection.decided_by, objection.decided_at, objection.decision_note = principal.subject, utcnow(), data.note
    if data.reassign_to is None:
        objection.status = "dismissed"
        await enqueue_notification(
            session, idempotency_key=f"objection-{objection.id}-dismissed", kind="assignment.objection_dismissed",
            recipients=[f"department:{objection.department}", "office:cppcc"],
            payload={"commitment_id": commitment.id, "objection_id": objection.id},
        )
        await session.commit()
        return objection
    objection.status, objection.reassigned_to, objection.new_due_at = "reassigning", data.reassign_to, data.new_due_at
    await session.commit()
    await deliver_reassignment(session, temporal, settings, commitment, objection)
    return objection


async def deliver_reassignment(session: AsyncSession, temporal: Client | None, settings: Settings,
                               commitment: Commitment, objection: AssignmentObjection) -> None:
    """Deliver a decided reassignment. The lead: a ``reassign`` action to the follow-up
    (hooks.after_accepted moves the record); a co-handler: its workflow's ``reassign``."""
    assert objection.reassigned_to is not None
    if objection.co_handler_id is None:
        principal = Principal(subject=objection.decided_by or "office", role=Role.CLERK)
        payload: dict[str, Any] = {"department": objection.reassigned_to, "objection_id": objection.id,
                                   "new_due_at": objection.new_due_at.isoformat() if objection.new_due_at else None}
        try:
            action = await commitments.record_action(
                session, temporal, commitment, principal, kind="reassign", payload=payload, settings=settings)
        except (WorkflowRefused, WorkflowEnded):
            objection.status = "pending"  # nothing moved: the office may decide again
            objection.reassigned_to = objection.new_due_at = None
            await session.commit()
            raise
        if action.outcome == "pending":
            raise TemporalUnavailable("follow-up", stored=True, will_be_delivered=True)
        await session.refresh(objection)
        return
    co = await session.get(CoHandler, objection.co_handler_id)
    assert co is not None
    if co.workflow_started_at is None:
        raise TemporalUnavailable("co-handling", stored=True, will_be_delivered=True)
    before = co.department
    change = CoReassign(department=objection.reassigned_to, objection_id=objection.id,
                        new_due_at=objection.new_due_at.isoformat() if objection.new_due_at else None)
    try:
        await FollowUpClient(temporal).reassign_co_handling(co.id, change)
    except (WorkflowRefused, WorkflowEnded):
        objection.status = "pending"
        objection.reassigned_to = objection.new_due_at = None
        await session.commit()
        raise
    co.department, co.assigned_at = objection.reassigned_to, utcnow()
    if objection.new_due_at is not None:
        co.due_at = objection.new_due_at
    co.escalation_level = 0
    objection.status = "reassigned"
    await enqueue_notification(
        session, idempotency_key=f"objection-{objection.id}-reassigned", kind="assignment.reassigned",
        recipients=[f"department:{before}", f"department:{co.department}", f"department:{commitment.department}",
                    "office:cppcc"],
        payload={"commitment_id": commitment.id, "co_handler_id": co.id, "objection_id": objection.id,
                 "from_department": before, "department": co.department, "due_at": co.due_at.isoformat()},
    )
    await session.commit()


async def list_objections(session: AsyncSession, commitment: Commitment) -> list[AssignmentObjection]:
    return list((await session.scalars(select(AssignmentObjection).where(
        AssignmentObjection.commitment_id == commitment.id).order_by(AssignmentObjection.id))).all())


# ---------------------------------------------------------------- replies (答复)
async def reply_of_action(session: AsyncSession, action_id: int) -> CommitmentReply | None:
    return await session.scalar(select(CommitmentReply).where(CommitmentReply.action_id == action_id))


async def list_replies(session: AsyncSession, commitment: Commitment) -> list[CommitmentReply]:
    return list((await session.scalars(select(CommitmentReply).where(
        CommitmentReply.commitment_id == commitment.id).order_by(CommitmentReply.id))).all())


async def get_reply(session: AsyncSession, commitment: Commitment, reply_id: int) -> CommitmentReply:
    reply = await session.get(CommitmentReply, reply_id)
    if reply is None or reply.commitment_id != commitment.id:
        raise Problem(404, "Not Found", f"Commitment {commitment.id} has no reply {reply_id}.")
    return reply


async def review_reply(session: AsyncSession, commitment: Commitment, reply: CommitmentReply, principal: Principal,
                       data: ReviewCreate) -> tuple[CommitmentReply, bool]:
    """The disclosure review (答复公开): publish in full (contact data removed), publish a
    summary, or withhold with a reason. Once: the same decision again answers the first."""
    decided = {"published": ("publish_full" if reply.disclosure == "full" else "publish_summary"),
               "withheld": "withhold"}.get(reply.review_status)
    if decided is not None:
        if decided == data.decision:
            return reply, False
        raise Problem(409, "Conflict", f"Reply {reply.id} was reviewed already ({reply.review_status}).")
    now = utcnow()
    reply.reviewed_by, reply.reviewed_at = principal.subject, now
    if data.decision == "withhold":
        reply.review_status, reply.withheld_reason = "withheld", data.reason
    else:
        reply.review_status, reply.published_at = "published", now
        reply.disclosure = "full" if data.decision == "publish_full" else "summary"
        reply.public_text = scrub_personal_data(reply.text if data.decision == "publish_full" else data.summary or "")
        await enqueue_notification(
            session, idempotency_key=f"reply-{reply.id}-published", kind="reply.published",
            recipients=[f"department:{reply.department}", "office:cppcc", f"topic:{commitment.consultation_topic_id}"],
            payload={"commitment_id": commitment.id, "reply_id": reply.id, "reply_class": reply.reply_class,
                     "topic_id": commitment.consultation_topic_id, "disclosure": reply.disclosure},
        )
    await session.commit()
    log.info("reply.reviewed", reply_id=reply.id, status=reply.review_status)
    return reply, True


async def check_extension_cap(session: AsyncSession, settings: Settings, commitment: Commitment, new_due: Any) -> None:
    """Extensions are capped: all together they move the due date at most
    ``reply_limit_months`` past the original one (six months in all by default)."""
    limit = hooks.extension_limit(commitment, settings, await hooks.calendar_of(session))
    if new_due > limit:
        raise Problem(422, "Invalid request",
                      f"Extensions may move the due date to {limit.isoformat()} at the latest "
                      f"({settings.reply_limit_months} months past the original due date, all extensions together).",
                      errors=[{"field": "body.requested_due_at", "rule": "reply_limit_months",
                               "message": f"at most {settings.reply_limit_months} months past the original due date"}],
                      limit=limit.isoformat())


# ---------------------------------------------------------------- recovery
async def deliver_pending_handling(session: AsyncSession, temporal: Client, settings: Settings) -> int:
    """Re-send opinions and co-handler reassignments an outage left pending; tell the
    office once of each disclosure review past its deadline."""
    done = 0
    cutoff = utcnow() - timedelta(seconds=5)
    for co in (await session.scalars(select(CoHandler).where(
            CoHandler.status == "opinion_pending", CoHandler.opinion_at <= cutoff).limit(100))).all():
        try:
            await deliver_opinion(session, temporal, co)
            done += 1
        except TemporalUnavailable:
            return done
        except Problem:
            continue
    for objection in (await session.scalars(select(AssignmentObjection).where(
            AssignmentObjection.status == "reassigning", AssignmentObjection.co_handler_id.is_not(None),
            AssignmentObjection.decided_at <= cutoff).limit(100))).all():
        commitment = await session.get(Commitment, objection.commitment_id)
        try:
            await deliver_reassignment(session, temporal, settings, commitment, objection)
            done += 1
        except TemporalUnavailable:
            return done
        except Problem:
            continue
    for reply in (await session.scalars(select(CommitmentReply).where(
            CommitmentReply.review_status == "pending", CommitmentReply.review_due_at < utcnow(),
            CommitmentReply.overdue_notified.is_(False)).limit(100))).all():
        await enqueue_notification(
            session, idempotency_key=f"reply-{reply.id}-review-overdue", kind="disclosure_review.overdue",
            recipients=["office:cppcc"],
            payload={"commitment_id": reply.commitment_id, "reply_id": reply.id,
                     "review_due_at": reply.review_due_at.isoformat()},
        )
        reply.overdue_notified = True
        await session.commit()
        done += 1
    return done
