"""The public read API's shapes (答复公开): what anyone may read, no personal data.

Titles are scrubbed of names, phone numbers, ID numbers, e-mails and links
(services/common/redact.py); residents' own texts, submitters and contacts never appear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class PublicVenue(BaseModel):
    name: str
    kind: str


class PublicPlanEntry(BaseModel):
    topic_id: int
    title: str
    format: str = Field(description="plenary, standing_committee, special_topic or sector_micro (1+2+4+X)")
    format_name: str
    organiser_name: str
    venue: PublicVenue | None
    planned_month: int | None
    stage: str
    stage_name: str


class PublicPlan(BaseModel):
    year: int
    counts: dict[str, int] = Field(description="entries per format (1+2+4+X)")
    complete: bool
    entries: list[PublicPlanEntry]


class PublicMeeting(BaseModel):
    held_at: datetime
    venue: PublicVenue | None


class PublicReply(BaseModel):
    reply_class: str | None = None
    reply_class_name: str | None = None
    published_at: datetime | None = None
    text: str = ""
    disclosure: str | None = None


class PublicCommitment(BaseModel):
    id: int
    lead_department: str
    co_handlers: list[str] = Field(default_factory=list)
    content: str
    due_at: datetime | None = None
    due_in_working_days: int | None = None
    status: str
    status_name: str
    escalation_level: int = 0
    reopened_count: int = 0
    replies: list[PublicReply] = Field(default_factory=list)
    satisfaction: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="handling (办理工作) and outcome (办理结果), rated separately")


class PublicDrawAnnouncement(BaseModel):
    """A draw as talent publishes it (GET /public/draws): no person ids, no names."""

    draw_id: int
    round: int
    status: str = Field(description="announced, drawn or void")
    announced_at: datetime | None = None
    portfolio_hash: str
    commitment: str
    public_randomness_source: str | None = None
    public_randomness_at: datetime | None = None
    public_randomness_format: str | None = None
    public_randomness: str | None = None
    seats: int | None = None
    drawn_at: datetime | None = None
    void_reason: str | None = None


class Section(BaseModel):
    """A part of the page read from another service: ``available`` false when it did not
    answer (the page says so instead of failing)."""

    available: bool


class PublicDraws(Section):
    items: list[PublicDrawAnnouncement] = Field(default_factory=list)


class PublicCommitments(Section):
    items: list[PublicCommitment] = Field(default_factory=list)


class PublicTopic(BaseModel):
    topic_id: int
    title: str
    channel: str
    channel_name: str
    stage: str
    stage_name: str
    merged_into_topic_id: int | None
    plan_year: int | None
    format: str | None
    format_name: str | None
    organiser_name: str | None
    venue: PublicVenue | None
    planned_month: int | None
    meeting: PublicMeeting | None
    supporters: int = Field(description="submissions behind it, merged ones included (并案)")
    cosigners: int = Field(description="residents who co-signed it (联名)")
    draws: PublicDraws
    commitments: PublicCommitments
