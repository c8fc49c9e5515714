"""The chair's decisions and the annual plan (年度协商计划)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.common.vocabulary import ConsultationFormat

from ..fields import Code, Note


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"  # into a year's plan
    REJECTED = "rejected"
    MERGED = "merged"  # into another topic


Year = Annotated[int, Field(ge=2000, le=2100, description="plan year")]
Month = Annotated[int, Field(ge=1, le=12, description="planned month")]


class DecisionCreate(BaseModel):
    """accepted: format, organiser and plan_year (venue, planned_month optional);
    rejected: reason; merged: merged_into_topic_id (reason optional)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    format: ConsultationFormat | None = None
    organiser: Code | None = Field(None, description="organiser code, see GET /organisers")
    venue: Code | None = Field(None, description="venue code, see GET /venues")
    plan_year: Year | None = None
    planned_month: Month | None = None
    merged_into_topic_id: int | None = Field(None, ge=1)
    reason: Note | None = None


class MergeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_topic_id: int = Field(ge=1)
    reason: Note | None = None


class DecisionRead(BaseModel):
    id: int
    topic_id: int
    outcome: Outcome
    format: ConsultationFormat | None
    organiser: str | None
    venue: str | None
    plan_year: int | None
    planned_month: int | None
    merged_into_topic_id: int | None
    reason: str | None
    decided_at: datetime
    delivery: str = Field(description="'delivered' once the topic's workflow took it; 'pending' while being delivered")
    stage: str


class PlanEntryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ConsultationFormat | None = None
    organiser: Code | None = None
    venue: Code | None = None
    planned_month: Month | None = None
    plan_year: Year | None = None


class PlanEntry(BaseModel):
    topic_id: int
    title: str
    format: ConsultationFormat
    organiser: str
    organiser_name: str
    venue: str | None
    planned_month: int | None
    delivery: str


class PlanIssue(BaseModel):
    rule: str
    message: str


class PlanRead(BaseModel):
    year: int
    entries: list[PlanEntry]
    counts: dict[str, int] = Field(description="entries per format (1+2+4+X)")
    complete: bool = Field(description="1 plenary, 2+ standing committee, 4 special topic, no errors")
    warnings: list[PlanIssue] = Field(description="not yet complete")
    errors: list[PlanIssue] = Field(description="impossible: must be fixed")
