"""Topics' and submissions' API shapes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Role
from services.common.vocabulary import Channel

from ..fields import Contact, Content, Name, Note, PublicContent, PublicTitle, Title


class TopicCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    content: Content
    channel: Channel = Field(description="来源渠道 (one of the seven channels)")


class SubmissionStatus(str, enum.Enum):
    ACCEPTED = "accepted"  # belongs to a topic
    HELD = "held"  # in the moderation queue
    REJECTED = "rejected"  # a moderator rejected it (kept, with the reason)


class JoinedAs(str, enum.Enum):
    OPENED = "opened"  # it opened its topic
    DUPLICATE = "duplicate"  # near-duplicate of an open topic: joined as a supporter
    MERGED = "merged"  # its topic was merged into this one
    SPLIT = "split"  # staff split it out into this topic
    MOVED = "moved"  # staff moved it by hand


# Channel-specific fields: required (True) or allowed (False) for each channel.
CHANNEL_FIELDS: dict[Channel, dict[str, bool]] = {
    Channel.PARTY_COMMITTEE_ASSIGNED: {"office": True},
    Channel.GOVERNMENT_REQUESTED: {"office": True},
    Channel.MEMBER_RECOMMENDED: {"member_name": True, "sector": False},
    Channel.MEMBER_PROPOSAL: {"member_name": True, "sector": False},
    Channel.SECTOR_PROPOSAL: {"sector": True},
    Channel.TOWN_LIAISON_PROPOSAL: {"liaison_group": True},
    Channel.PUBLIC_ONLINE: {"submitter_name": False, "contact": False},
}
SPECIFIC_FIELDS = ("office", "member_name", "sector", "liaison_group", "submitter_name", "contact")


class SubmissionCreate(BaseModel):
    """A submission registered by the office for any channel (the public's own go
    through POST /public/submissions). Which extra fields apply depends on the
    channel; see CHANNEL_FIELDS."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    title: Title
    content: Content
    office: Name | None = Field(None, description="县委/政府 office (party_committee_assigned, government_requested)")
    member_name: Name | None = Field(None, description="the CPPCC member (member_recommended, member_proposal)")
    sector: Name | None = Field(None, description="界别 (sector_proposal; optional for a member)")
    liaison_group: Name | None = Field(None, description="镇（街道）联络组 (town_liaison_proposal)")
    submitter_name: Name | None = Field(None, description="public_online: optional")
    contact: Contact | None = Field(None, description="public_online: optional; personal data")
    new_topic: bool = Field(False, description="Open a topic of its own even when it resembles an open topic")


class PublicSubmissionCreate(BaseModel):
    """网上征集: a resident's topic, suggestion or opinion. Anonymous unless a name is
    given; the contact is optional and only the office sees it."""

    model_config = ConfigDict(extra="forbid")

    title: PublicTitle
    content: PublicContent
    submitter_name: Name | None = None
    contact: Contact | None = Field(None, description="phone or WeChat, optional; only the office sees it")


class PublicReceipt(BaseModel):
    """What the public sees: no internal reasons, no other submitters."""

    submission_id: int
    status: str = Field(
        description="'received' (joined or opened a topic), 'in_review' (moderation) or 'not_accepted' (rejected in review)"
    )
    topic_id: int | None
    topic_stage: str | None = Field(None, description="What became of the topic: submitted, accepted, rejected, merged")


class ScreeningReasonRead(BaseModel):
    code: str
    weight: float
    detail: str = ""


class SubmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic_id: int | None
    channel: Channel
    status: SubmissionStatus
    joined_as: JoinedAs | None
    similarity: float | None
    title_raw: str
    content_raw: str
    title_normalised: str
    content_normalised: str
    office: str | None
    member_name: str | None
    sector: str | None
    liaison_group: str | None
    submitter_name: str | None
    contact: str | None
    received_at: datetime
    spam_score: float | None
    screening_reasons: list[ScreeningReasonRead] | None
    repaired_text: str | None
    moderated_at: datetime | None
    moderation_note: str | None

    def for_role(self, role: Role) -> SubmissionRead:
        """Personal data is for the office: operators watch the process, not people."""
        if role is Role.CLERK:
            return self
        return self.model_copy(update={"contact": None, "submitter_name": None})


class SubmissionPage(BaseModel):
    items: list[SubmissionRead]
    total: int
    next_after: int | None


class ModerationDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = Field(None, description="Why (kept with the submission)")
    use_repaired_text: bool = Field(False, description="Release the mojibake repair screening offered")


class SplitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission_ids: list[int] = Field(min_length=1, max_length=500)
    title: Title | None = Field(None, description="Title of the new topic; default: the first submission's")


class PlanInfo(BaseModel):
    plan_year: int | None
    format: str | None
    organiser: str | None
    venue: str | None
    planned_month: int | None


class TopicRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    channel: Channel
    created_at: datetime
    workflow_id: str
    stage: str | None = Field(
        description="Read from the topic's ConsultationWorkflow ('pending' until it runs); "
        "in listings, intake's stored mirror of it"
    )
    support_count: int = Field(0, description="Submissions behind the topic (supporters)")
    merged_into_id: int | None = None
    plan: PlanInfo | None = None


class TopicPage(BaseModel):
    items: list[TopicRead]
    total: int = Field(description="Topics matching the filters, counted exactly up to a cap "
                       "(10,000; 1,000 with free text `q`); beyond it, the cap itself and `total_capped` true")
    total_capped: bool = Field(False, description="True when `total` is the cap, not the exact count")
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")


def reasons_json(reasons: Any) -> list[dict[str, Any]]:
    return [{"code": r.code, "weight": round(r.weight, 3), "detail": r.detail} for r in reasons]
