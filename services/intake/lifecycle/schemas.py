"""Staff actions on a consultation after the chair's decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.vocabulary import (
    QUOTA_VALUES,
    Expertise,
    LifecycleStage,
    PersonKind,
    QuotaAttribute,
)

from ..fields import Name, text


class DrawComposition(BaseModel):
    """Seats per kind of person on the consultation's panel."""

    model_config = ConfigDict(extra="forbid")

    talent: int = Field(default=0, ge=0, le=500, description="协商人才")
    member: int = Field(default=0, ge=0, le=500, description="政协委员")
    public_rep: int = Field(default=0, ge=0, le=500, description="群众代表")

    @model_validator(mode="after")
    def _someone(self) -> DrawComposition:
        if self.talent + self.member + self.public_rep < 1:
            raise ValueError("the panel needs at least one seat")
        return self


class DrawQuotaIn(BaseModel):
    """At least ``min`` and at most ``max`` seats for ``attribute == value``; with ``kind``
    counted among that kind only (e.g. public_rep, town=玉蟾街道, min 4: four public
    representatives from the town). Checked against talent's vocabulary."""

    model_config = ConfigDict(extra="forbid")

    attribute: QuotaAttribute
    value: Name
    min: int = Field(default=0, ge=0, le=500)
    max: int | None = Field(default=None, ge=0, le=500)
    kind: PersonKind | None = None

    @model_validator(mode="after")
    def _known_value(self) -> DrawQuotaIn:
        known = QUOTA_VALUES.get(self.attribute)
        if known is not None and self.value not in known:
            raise ValueError(f"value: {self.value!r} is not a {self.attribute} of talent's vocabulary "
                             f"({', '.join(known)})")
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class ResearchCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: text(10000, "调研报告摘要")  # type: ignore[valid-type]
    # Checked here, against talent's vocabulary, before anything is stored or drawn:
    # an unknown field is a 422 naming it (expertise.<i>), not a failed draw later.
    expertise: list[Expertise] = Field(default_factory=list, max_length=20,
                                       description="expertise the talents drawn need (talent's vocabulary, 专业领域)")
    exclude_departments: list[Name] = Field(default_factory=list, max_length=20,
                                            description="departments concerned: people with a conflict are not drawn")
    composition: DrawComposition | None = Field(
        default=None, description="this consultation's panel by kind; none: the format's default (1+2+4+X)")
    quotas: list[DrawQuotaIn] = Field(default_factory=list, max_length=50,
                                      description="this consultation's quotas, kept in every replacement round")

    @model_validator(mode="after")
    def _shape_consistent(self) -> ResearchCompletion:
        seen = set()
        for q in self.quotas:
            key = (q.attribute, q.value, q.kind)
            if key in seen:
                raise ValueError(f"quotas: two quotas on {q.attribute}={q.value}" + (f" among {q.kind}" if q.kind else ""))
            seen.add(key)
            if self.composition is not None:
                seats = getattr(self.composition, q.kind) if q.kind else (
                    self.composition.talent + self.composition.member + self.composition.public_rep)
                if q.min > seats:
                    raise ValueError(f"quotas: {q.attribute}={q.value} min {q.min} exceeds the {seats} seats"
                                     + (f" of {q.kind}" if q.kind else ""))
        return self


class ResearchReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic_id: int
    summary: str
    expertise: list[str]
    exclude_departments: list[str]
    composition: dict[str, int] | None = None
    quotas: list[dict] = Field(default_factory=list)
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
