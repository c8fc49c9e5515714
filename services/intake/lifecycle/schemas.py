"""Staff actions on a consultation after the chair's decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.common.vocabulary import Expertise, LifecycleStage

from ..fields import Name, text


class ResearchCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: text(10000, "调研报告摘要")  # type: ignore[valid-type]
    # Checked here, against talent's vocabulary, before anything is stored or drawn:
    # an unknown field is a 422 naming it (expertise.<i>), not a failed draw later.
    expertise: list[Expertise] = Field(default_factory=list, max_length=20,
                                       description="expertise the talents drawn need (talent's vocabulary, 专业领域)")
    exclude_departments: list[Name] = Field(default_factory=list, max_length=20,
                                            description="departments concerned: people with a conflict are not drawn")


class ResearchReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic_id: int
    summary: str
    expertise: list[str]
    exclude_departments: list[str]
    created_at: datetime
    stage: str


class TopicStageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: LifecycleStage


class InvitationAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: bool


class InvitationRead(BaseModel):
    person_id: int
    round: int
    reply_by: datetime
    answer: str


class AttentionRead(BaseModel):
    """待处理: the step the consultation stopped at, and why (a service's refusal, or
    retries spent). Staff fix the cause and resume (POST .../consultation/resume)."""

    step: str
    reason: str
    since: datetime
    episode: int


class ResumeIn(BaseModel):
    """Resume a consultation that needs attention; with an amended research report when
    the draw failed on it (its expertise checked against talent's vocabulary)."""

    model_config = ConfigDict(extra="forbid")

    research: ResearchCompletion | None = None


class DrawAnnouncementRead(BaseModel):
    draw_id: int
    round: int
    portfolio_hash: str
    commitment: str
    public_randomness_source: str
    public_randomness_at: str
    public_randomness_format: str


class PublicValueIn(BaseModel):
    """The announced public random value, as published (e.g. RFC 3797 lottery numbers)."""

    model_config = ConfigDict(extra="forbid")

    public_randomness: str = Field(min_length=1, max_length=500)


class ConsultationRead(BaseModel):
    """Where the consultation stands, read from its workflow."""

    topic_id: int
    stage: str
    draw_id: int | None
    panel: list[int]
    invitations: list[InvitationRead]
    meeting_id: int | None
    commitment_ids: list[int]
    closed_commitment_ids: list[int]
    needs_attention: AttentionRead | None = None
    announcement: DrawAnnouncementRead | None = Field(
        default=None, description="a draw announced and waiting for its public value (also public: talent's "
        "GET /public/draws/{draw_id}); staff enter the value once it is known")
