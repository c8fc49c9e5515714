"""Commitments (承诺) and everything that happens to them during follow-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class Commitment(Base):
    """A department's promise made at a consultation meeting: owner, content, due date."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_topic_id: Mapped[int] = mapped_column(Integer, index=True)
    department: Mapped[str] = mapped_column(String(60), index=True)  # 承办单位
    leader_in_charge: Mapped[str | None] = mapped_column(String(60))  # 分管领导 (a title or name)
    content: Mapped[str] = mapped_column(Text)
    organiser: Mapped[str | None] = mapped_column(String(60), index=True)  # 承办/组织单位 of the consultation
    plan_year: Mapped[int | None] = mapped_column(Integer, index=True)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The escalation policy as data (services/common/deadlines/escalation_policy.py).
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Mirrors the workflow: open -> completed -> verified -> closed (reopened: open again).
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    reopenings: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    workflow_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # 交办: when the lead department got the commitment (None: when it was recorded); a
    # reassignment sets it again, and the objection window counts from it.
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Seconds-scale policies (demos, tests): one working day lasts this many seconds.
    # None: working days of the official calendar.
    working_day_seconds: Mapped[float | None] = mapped_column(Float)
    # The class of the lead department's latest accepted reply (答复): A/B/C/D.
    reply_class: Mapped[str | None] = mapped_column(String(1))


class CoHandler(Base):
    """A co-handling department (会办单位): sends its opinion to the lead department by its
    own deadline, followed up by its own CoHandlingWorkflow (own ladder, own escalations)."""

    __tablename__ = "commitment_co_handlers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    department: Mapped[str] = mapped_column(String(60), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # open -> opinion_pending (stored, not yet delivered) -> submitted
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    opinion: Mapped[str | None] = mapped_column(Text)
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    workflow_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class AssignmentObjection(Base):
    """A department's objection to an assignment (交办异议), kept on record whatever the
    office decides: reassigned to another department, or dismissed."""

    __tablename__ = "assignment_objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    co_handler_id: Mapped[int | None] = mapped_column(ForeignKey("commitment_co_handlers.id"))
    department: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(100))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # pending -> reassigning (decided, not yet delivered to the workflow) -> reassigned; or dismissed
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reassigned_to: Mapped[str | None] = mapped_column(String(60))
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the office may set a new due date
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CommitmentReply(Base):
    """The lead department's formal reply (答复), class A/B/C/D, and its disclosure review
    (答复公开): the office publishes it in full (contact data scrubbed), publishes a
    summary, or withholds it with a reason, by ``review_due_at``. Only what was published
    reaches the public read API."""

    __tablename__ = "commitment_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    # The action that delivered the reply to the follow-up workflow (one reply per action).
    action_id: Mapped[int] = mapped_column(ForeignKey("commitment_actions.id"), unique=True)
    department: Mapped[str] = mapped_column(String(60))
    reply_class: Mapped[str] = mapped_column(String(1))
    text: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # pending -> published | withheld
    review_status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    disclosure: Mapped[str | None] = mapped_column(String(10))  # full | summary
    public_text: Mapped[str | None] = mapped_column(Text)
    withheld_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_notified: Mapped[bool] = mapped_column(Boolean, default=False)


class CommitmentAction(Base):
    """What a department or committee did: reported progress, asked for or decided an
    extension, reported completion, verified, rated. Stored first, then delivered to the
    follow-up workflow as an update; `outcome` says whether the workflow accepted it."""

    __tablename__ = "commitment_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(100))  # token subject
    actor_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # pending until delivered; accepted or rejected by the workflow's update validator.
    outcome: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    outcome_detail: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EscalationEvent(Base):
    """A rung of the ladder that fired (reminder, 催办, 督办, 会议督办, 文件通报), or a
    missing-progress reminder. Recorded once per event_key."""

    __tablename__ = "escalation_events"
    __table_args__ = (UniqueConstraint("event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    provisional: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(String(300))
    # Set for a co-handler's ladder (CoHandlingWorkflow); None for the lead department's.
    co_handler_id: Mapped[int | None] = mapped_column(Integer, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfficialScheduleRecord(Base):
    """A year's official holiday schedule loaded by staff (国务院办公厅 notice)."""

    __tablename__ = "official_schedules"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
