"""The chair's meeting's decisions (主席会议); accepted ones are the year's plan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One decision per topic: the unique constraint also stops two concurrent ones.
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)  # accepted / rejected / merged
    format: Mapped[str | None] = mapped_column(String(30), index=True)
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id"), index=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    plan_year: Mapped[int | None] = mapped_column(Integer, index=True)
    planned_month: Mapped[int | None] = mapped_column(Integer)
    merged_into_topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # 'pending' until the topic's workflow accepted the update, then 'delivered'.
    delivery: Mapped[str] = mapped_column(String(20), default="pending", index=True)
