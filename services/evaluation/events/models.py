"""Consultation events: what happened to a consultation, once per event key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class ConsultationEvent(Base):
    """Something that happened to a consultation, recorded once per event_key."""

    __tablename__ = "consultation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The idempotency key the workflow's activity sends: a retry finds this row.
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    topic_id: Mapped[int] = mapped_column(Integer, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
