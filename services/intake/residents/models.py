"""Residents' co-signatures (联名) on public topics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class Cosign(Base):
    """One resident stands behind one topic: once (the unique pair makes a repeated
    co-signature the same record). A merged topic's co-signers follow it to the topic it
    was merged into when its submitters are listed (service.topic_submitters)."""

    __tablename__ = "topic_cosigns"
    __table_args__ = (UniqueConstraint("topic_id", "resident", name="uq_topic_cosigns_topic_resident"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    # The resident's token subject (a pseudonymous id, never a name or phone number).
    resident: Mapped[str] = mapped_column(String(100), index=True)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
