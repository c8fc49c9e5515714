"""The two-way evaluation (双向评价).

(a) Departments, party and government bodies and the public rate the CPPCC's work on a
    consultation: how precise its topic selection was (选题精准性) and the quality of its
    outcome (成果质量).
(b) Members, the standing committee and the committees rate implementing departments
    through the five supervision means (委员视察、调研督查、民主测评、会议督办、文件通报).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class ConsultationRating(Base):
    """One rating per rater, consultation and aspect: a second one is refused (409)."""

    __tablename__ = "consultation_ratings"
    __table_args__ = (
        UniqueConstraint("consultation_topic_id", "aspect", "rater", name="uq_consultation_ratings_one_per_rater"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_topic_id: Mapped[int] = mapped_column(Integer, index=True)
    organiser: Mapped[str] = mapped_column(String(60), index=True)
    plan_year: Mapped[int] = mapped_column(Integer, index=True)
    rater_kind: Mapped[str] = mapped_column(String(30))  # department | party_government | public
    aspect: Mapped[str] = mapped_column(String(30))  # topic_precision | outcome_quality
    score: Mapped[int] = mapped_column(Integer)  # 1..5
    comment: Mapped[str | None] = mapped_column(Text)
    rated_by: Mapped[str] = mapped_column(String(100))
    # The caller (role|department|subject): what "one rating per rater" counts.
    rater: Mapped[str] = mapped_column(String(200))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DepartmentRating(Base):
    __tablename__ = "department_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(60), index=True)
    commitment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    plan_year: Mapped[int] = mapped_column(Integer, index=True)
    means: Mapped[str] = mapped_column(String(30))  # one of the five supervision means
    rater_kind: Mapped[str] = mapped_column(String(30))  # member | standing_committee | committee
    score: Mapped[int] = mapped_column(Integer)  # 1..5
    comment: Mapped[str | None] = mapped_column(Text)
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
