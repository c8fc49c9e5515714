"""Consultation meetings (协商议事会): minutes, attendance, consensus, commitments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    minutes: Mapped[str] = mapped_column(Text)
    consensus: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    # Store first, then deliver: "pending" until the consultation's workflow took it
    # (the reconciler re-sends pending ones), then "delivered".
    delivery: Mapped[str] = mapped_column(String(20), default="pending", server_default="delivered", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attendees: Mapped[list[MeetingAttendee]] = relationship(
        order_by="MeetingAttendee.id", cascade="all, delete-orphan", lazy="selectin"
    )
    commitments: Mapped[list[MeetingCommitment]] = relationship(
        order_by="MeetingCommitment.id", cascade="all, delete-orphan", lazy="selectin"
    )


class MeetingAttendee(Base):
    __tablename__ = "meeting_attendees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # personal data: never logged
    category: Mapped[str] = mapped_column(String(30))  # AttendeeCategory
    organisation: Mapped[str | None] = mapped_column(String(100))


class MeetingCommitment(Base):
    """A commitment (承诺) made at the meeting; evaluation follows it up (later issue)."""

    __tablename__ = "meeting_commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    owner_department: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date)
