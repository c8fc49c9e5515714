"""The chair's decisions (主席会议), delivered to the topic's workflow as an update.

Order: check → store as *pending* → deliver the ``decide`` update → mark delivered and
apply (stage mirror, merge moves the supporters) — or, when the workflow's validator
refuses, compensate by deleting the pending row. Why store first (see docs/intake.md):
the unique decision per topic is claimed in the database before Temporal hears of it,
so two concurrent decisions cannot both reach the workflow; and a decision whose
delivery outcome is unknown (timeout, Temporal down) is not lost: the reconciler
re-sends it with the same update id, which the workflow treats as the same decision.
Everything the workflow's validator checks is checked here first, so a refusal from
the workflow is the rare case (a race), and it leaves nothing behind.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.auth import Principal
from services.common.db import utcnow
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.workflow_errors import (
    TemporalUnavailable,
    WorkflowEnded,
    WorkflowRefused,
)
from workflows.consultation import (
    ConsultationWorkflow,
    DecisionInput,
    PlanAmendment,
    decision_problem,
)

from ..consultation_client import ConsultationClient
from ..fields import validation_problem
from ..reference.models import Organiser, Venue
from ..reference.service import by_code
from ..topics import service as topics
from ..topics.index import OPEN_STAGES, TopicIndex
from ..topics.models import Topic
from . import plan_rules
from .models import Decision
from .schemas import (
    DecisionCreate,
    DecisionRead,
    Outcome,
    PlanEntry,
    PlanEntryUpdate,
    PlanRead,
)

log = structlog.get_logger()

# Which fields each outcome needs (True) or allows (False).
FIELDS: dict[Outcome, dict[str, bool]] = {
    Outcome.ACCEPTED: {"format": True, "organiser": True, "plan_year": True, "venue": False, "planned_month": False, "reason": False},
    Outcome.REJECTED: {"reason": True},
    Outcome.MERGED: {"merged_into_topic_id": True, "reason": False},
}
ALL_FIELDS = ("format", "organiser", "venue", "plan_year", "planned_month", "merged_into_topic_id", "reason")


def _check_fields(data: DecisionCreate) -> None:
    rules = FIELDS[data.outcome]
    errors = []
    for name in ALL_FIELDS:
        value = getattr(data, name)
        if rules.get(name) and value is None:
            errors.append({"field": name, "rule": "missing", "message": f"required when outcome is {data.outcome.value}"})
        elif name not in rules and value is not None:
            errors.append({"field": name, "rule": "not_allowed_for_outcome", "message": f"not used when outcome is {data.outcome.value}"})
    if errors:
        raise validation_problem(errors)


async def plan_formats(session: AsyncSession, year: int, *, excluding_topic: int | None = None) -> list[str]:
    """Formats of every accepted decision of ``year`` (pending ones included: they hold
    their place while being delivered)."""
    query = select(Decision.format).where(Decision.outcome == Outcome.ACCEPTED.value, Decision.plan_year == year)
    if excluding_topic is not None:
        query = query.where(Decision.topic_id != excluding_topic)
    return [f for f in (await session.scalars(query)).all() if f]


async def _refuse_impossible_plan(session: AsyncSession, year: int, fmt: str, topic_id: int) -> None:
    _, errors = plan_rules.check([*await plan_formats(session, year, excluding_topic=topic_id), fmt])
    if errors:
        raise Problem(
            409,
            "Plan rule broken",
            f"The {year} plan cannot take this: " + "; ".join(e.message for e in errors) + ".",
            errors=[e.model_dump() for e in errors],
        )


async def decide(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    index: TopicIndex,
    topic_id: int,
    data: DecisionCreate,
    principal: Principal,
) -> tuple[Decision, bool]:
    """Record and deliver a decision; returns it and whether the workflow has it."""
    _check_fields(data)
    topic = await topics.get_topic(session, topic_id)
    existing = await session.scalar(select(Decision).where(Decision.topic_id == topic_id))
    if existing is not None or topic.stage not in ("submitted",):
        raise Problem(409, "Already decided", f"Topic {topic_id} was already decided ({existing.outcome if existing else topic.stage}).")
    organiser = await by_code(session, Organiser, data.organiser, field="organiser")
    venue = await by_code(session, Venue, data.venue, field="venue")
    if data.outcome is Outcome.MERGED:
        assert data.merged_into_topic_id is not None
        target = await session.get(Topic, data.merged_into_topic_id)
        if target is None:
            raise validation_problem(
                [{"field": "merged_into_topic_id", "rule": "unknown_topic", "message": f"no topic {data.merged_into_topic_id}"}]
            )
        if target.id == topic_id or target.stage not in OPEN_STAGES:
            reason = "itself" if target.id == topic_id else f"topic {target.id}, which is {target.stage}"
            raise Problem(409, "Conflict", f"Topic {topic_id} cannot be merged into {reason}.")
    if data.outcome is Outcome.ACCEPTED:
        assert data.plan_year and data.format
        await _refuse_impossible_plan(session, data.plan_year, data.format.value, topic_id)
    decision = Decision(
        topic_id=topic_id,
        outcome=data.outcome.value,
        format=data.format.value if data.format else None,
        organiser_id=organiser.id if organiser else None,
        venue_id=venue.id if venue else None,
        plan_year=data.plan_year,
        planned_month=data.planned_month,
        merged_into_topic_id=data.merged_into_topic_id,
        reason=data.reason,
        decided_by=principal.subject,
        delivery="pending",
    )
    session.add(decision)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Problem(409, "Already decided", f"Topic {topic_id} was decided concurrently.") from None
    if topic.workflow_started_at is None and not await topics.start_consultation(session, temporal, settings, topic):
        await _withdraw(session, decision)
        raise TemporalUnavailable("consultation", stored=False)
    delivered = await deliver(session, temporal, index, decision, organiser_code=organiser.code if organiser else None)
    return decision, delivered


async def deliver(
    session: AsyncSession, temporal: Client, index: TopicIndex, decision: Decision, *, organiser_code: str | None
) -> bool:
    """Send the ``decide`` update (the same id for every attempt: a re-sent decision is
    the same update); on acceptance apply it, on refusal (or an ended workflow) withdraw
    it and raise the 409. False when the outcome is unknown (the reconciler tries again)."""
    try:
        status = await ConsultationClient(temporal).update(
            decision.topic_id, ConsultationWorkflow.decide, _update_input(decision, organiser_code),
            update_id=f"decision-{decision.id}", stored=True,
        )
    except (WorkflowRefused, WorkflowEnded):
        await _withdraw(session, decision)
        log.info("decision.refused_by_workflow", topic_id=decision.topic_id)
        raise
    except Problem as exc:  # 503 (Temporal down or slow), or the workflow not started yet
        log.warning("decision.delivery_deferred", topic_id=decision.topic_id, status=exc.status)
        return False
    await _apply(session, index, decision, status.stage)
    return True


async def _withdraw(session: AsyncSession, decision: Decision) -> None:
    # Compensation: the decision never happened.
    await session.execute(delete(Decision).where(Decision.id == decision.id))
    await session.commit()


async def _apply(session: AsyncSession, index: TopicIndex, decision: Decision, stage: str) -> None:
    topic = await topics.get_topic(session, decision.topic_id)
    decision.delivery = "delivered"
    topic.stage = stage
    if decision.outcome == Outcome.MERGED.value:
        topic.merged_into_id = decision.merged_into_topic_id
        assert decision.merged_into_topic_id is not None
        moved = await topics.move_supporters(session, topic.id, decision.merged_into_topic_id)
        log.info("topic.merged", topic_id=topic.id, into_topic_id=decision.merged_into_topic_id, supporters=moved)
    if decision.outcome != Outcome.ACCEPTED.value:
        index.forget([topic.id])
    await session.commit()
    log.info("decision.delivered", topic_id=topic.id, outcome=decision.outcome, stage=stage)


def _update_input(decision: Decision, organiser_code: str | None) -> DecisionInput:
    update = DecisionInput(
        decision_id=decision.id,
        outcome=decision.outcome,
        format=decision.format,
        organiser=organiser_code,
        plan_year=decision.plan_year,
        planned_month=decision.planned_month,
        merged_into_topic_id=decision.merged_into_topic_id,
    )
    # The workflow's own rules, asserted here too: a mismatch is a bug, not a 409.
    assert decision_problem(update, decision.topic_id) is None, decision_problem(update, decision.topic_id)
    return update


async def deliver_pending(session: AsyncSession, temporal: Client, index: TopicIndex, *, older_than: timedelta) -> int:
    """Re-send decisions whose delivery outcome was unknown (reconciler)."""
    rows = (
        await session.execute(
            select(Decision, Organiser.code)
            .outerjoin(Organiser, Organiser.id == Decision.organiser_id)
            .where(Decision.delivery == "pending", Decision.decided_at <= utcnow() - older_than)
            .order_by(Decision.id)
            .limit(50)
        )
    ).all()
    done = 0
    for decision, code in rows:
        try:
            done += await deliver(session, temporal, index, decision, organiser_code=code)
        except Problem:
            done += 1  # refused and withdrawn: settled too
    return done


async def to_read(session: AsyncSession, decision: Decision) -> DecisionRead:
    organiser = await session.get(Organiser, decision.organiser_id) if decision.organiser_id else None
    venue = await session.get(Venue, decision.venue_id) if decision.venue_id else None
    topic = await topics.get_topic(session, decision.topic_id)
    return DecisionRead(
        id=decision.id,
        topic_id=decision.topic_id,
        outcome=decision.outcome,
        format=decision.format,
        organiser=organiser.code if organiser else None,
        venue=venue.code if venue else None,
        plan_year=decision.plan_year,
        planned_month=decision.planned_month,
        merged_into_topic_id=decision.merged_into_topic_id,
        reason=decision.reason,
        decided_at=decision.decided_at,
        delivery=decision.delivery,
        stage=topic.stage,
    )


async def get_decision(session: AsyncSession, topic_id: int) -> Decision:
    decision = await session.scalar(select(Decision).where(Decision.topic_id == topic_id))
    if decision is None:
        raise Problem(404, "Not Found", f"Topic {topic_id} has no decision yet.")
    return decision


# --------------------------------------------------------------------------- #
# The annual plan: the accepted decisions of one year
# --------------------------------------------------------------------------- #


async def read_plan(session: AsyncSession, year: int) -> PlanRead:
    rows = (
        await session.execute(
            select(Decision, Topic.title, Organiser, Venue.code)
            .join(Topic, Topic.id == Decision.topic_id)
            .join(Organiser, Organiser.id == Decision.organiser_id)
            .outerjoin(Venue, Venue.id == Decision.venue_id)
            .where(Decision.outcome == Outcome.ACCEPTED.value, Decision.plan_year == year)
            .order_by(Decision.planned_month.is_(None), Decision.planned_month, Decision.topic_id)
        )
    ).all()
    entries = [
        PlanEntry(
            topic_id=d.topic_id,
            title=title,
            format=d.format,
            organiser=org.code,
            organiser_name=org.name,
            venue=venue,
            planned_month=d.planned_month,
            delivery=d.delivery,
        )
        for d, title, org, venue in rows
    ]
    formats = [e.format.value for e in entries]
    warnings, errors = plan_rules.check(formats)
    return PlanRead(
        year=year,
        entries=entries,
        counts=plan_rules.counts(formats),
        complete=not warnings and not errors,
        warnings=warnings,
        errors=errors,
    )


async def edit_plan_entry(
    session: AsyncSession, temporal: Client, year: int, topic_id: int, data: PlanEntryUpdate
) -> PlanRead:
    """Change an entry of the year's plan. The workflow's ``amend_plan`` update goes
    first (its search attributes follow the plan); the row is committed after it. The
    amendment overwrites values, so re-sending it after a failed commit is harmless."""
    decision = await session.scalar(
        select(Decision).where(
            Decision.topic_id == topic_id, Decision.plan_year == year, Decision.outcome == Outcome.ACCEPTED.value
        )
    )
    if decision is None:
        raise Problem(404, "Not Found", f"Topic {topic_id} is not in the {year} plan.")
    if decision.delivery != "delivered":
        raise Problem(409, "Conflict", f"The decision on topic {topic_id} is still being delivered; retry shortly.")
    changes = data.model_dump(exclude_unset=True)
    for name in ("format", "organiser", "plan_year"):
        if name in changes and changes[name] is None:
            raise validation_problem([{"field": name, "rule": "missing", "message": "a plan entry needs it; it cannot be cleared"}])
    organiser = await by_code(session, Organiser, data.organiser, field="organiser") if "organiser" in changes else None
    venue = await by_code(session, Venue, data.venue, field="venue") if data.venue else None
    new_format = data.format.value if data.format else decision.format
    new_year = data.plan_year or decision.plan_year
    assert new_format and new_year
    _, errors = plan_rules.check([*await plan_formats(session, new_year, excluding_topic=topic_id), new_format])
    if errors:
        raise Problem(
            409, "Plan rule broken", f"The {new_year} plan cannot take this: " + "; ".join(e.message for e in errors) + ".",
            errors=[e.model_dump() for e in errors],
        )
    if organiser is None:
        organiser = await session.get(Organiser, decision.organiser_id)
    assert organiser is not None
    if (new_format, organiser.id, new_year) != (decision.format, decision.organiser_id, decision.plan_year):
        # Unknown outcome (503): the row is unchanged; resending the same edit is harmless.
        await ConsultationClient(temporal).update(
            topic_id, ConsultationWorkflow.amend_plan,
            PlanAmendment(decision_id=decision.id, format=new_format, organiser=organiser.code, plan_year=new_year),
            update_id=f"amend-{decision.id}-{new_format}-{organiser.code}-{new_year}", stored=False,
        )
    decision.format = new_format
    decision.organiser_id = organiser.id
    decision.plan_year = new_year
    if "venue" in changes:
        decision.venue_id = venue.id if venue else None
    if "planned_month" in changes:
        decision.planned_month = data.planned_month
    await session.commit()
    return await read_plan(session, year)



