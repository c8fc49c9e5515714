"""Commitments (承诺) and everything that happens to them during follow-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
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
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    workflow_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


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
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
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
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfficialScheduleRecord(Base):
    """A year's official holiday schedule loaded by staff (国务院办公厅 notice)."""

    __tablename__ = "official_schedules"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
