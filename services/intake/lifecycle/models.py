"""Research reports (调研报告) behind the consultation's research stage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class ResearchReport(Base):
    __tablename__ = "research_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    # What the participant draw needs: talents' expertise, departments in conflict.
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclude_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The consultation's own draw shape (None / []: the format's defaults).
    composition: Mapped[dict[str, int] | None] = mapped_column(JSON)
    quotas: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    recorded_by: Mapped[str] = mapped_column(String(100))
    # Store first, then deliver: "pending" until the consultation's workflow took it
    # (the reconciler re-sends pending ones), then "delivered".
    delivery: Mapped[str] = mapped_column(String(20), default="pending", server_default="delivered", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
