"""Two-way evaluation shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..commitments.schemas import VerificationMeans


class ConsultationRatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consultation_topic_id: int = Field(ge=1)
    organiser: str = Field(min_length=1, max_length=60)
    plan_year: int = Field(ge=2000, le=2100)
    # Follows the caller's role (services/evaluation/ratings/service.py RATER_KINDS);
    # omitted: the role's kind.
    rater_kind: Literal["department", "party_government", "public"] | None = None
    aspect: Literal["topic_precision", "outcome_quality"]  # 选题精准性 / 成果质量
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class ConsultationRatingRead(ConsultationRatingCreate):
    model_config = ConfigDict(from_attributes=True)

    rater_kind: Literal["department", "party_government", "public"]
    id: int
    rated_by: str
    rated_at: datetime


class DepartmentRatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(min_length=1, max_length=60)
    commitment_id: int | None = Field(default=None, ge=1)
    plan_year: int = Field(ge=2000, le=2100)
    means: VerificationMeans
    # Follows the caller's role (RATER_KINDS); omitted: the role's first kind.
    rater_kind: Literal["member", "standing_committee", "committee"] | None = None
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class DepartmentRatingRead(DepartmentRatingCreate):
    model_config = ConfigDict(from_attributes=True)

    rater_kind: Literal["member", "standing_committee", "committee"]
    id: int
    rated_by: str
    rated_at: datetime
