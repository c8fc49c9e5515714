"""Draws' API shapes: typed requests (DrawCreate, ReplacementCreate, RevealCreate,
VoidCreate), the terms carried into every round (DrawTerms) and what is published."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..fields import Name, Strict, unique
from ..vocabulary import EXPERTISE_FIELDS, Expertise, PersonKind, QuotaAttribute


class Composition(Strict):
    talent: int = Field(default=0, ge=0, le=500, description="协商人才")
    member: int = Field(default=0, ge=0, le=500, description="政协委员")
    public_rep: int = Field(default=0, ge=0, le=500, description="群众代表")

    @model_validator(mode="after")
    def _someone(self) -> Composition:
        if self.talent + self.member + self.public_rep < 1:
            raise ValueError("the panel needs at least one seat")
        return self


class QuotaIn(Strict):
    attribute: QuotaAttribute
    value: Name
    min: int = Field(default=0, ge=0, le=1000)
    max: int | None = Field(default=None, ge=0, le=1000)
    kind: PersonKind | None = Field(
        default=None,
        description="count only people of this kind, e.g. public_rep with town=玉蟾街道 min 4: "
        "four public representatives from that town",
    )

    @model_validator(mode="after")
    def _consistent(self) -> QuotaIn:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        if self.attribute == "expertise" and self.value not in EXPERTISE_FIELDS:
            raise ValueError(f"unknown expertise {self.value!r}; known: {', '.join(EXPERTISE_FIELDS)}")
        return self


PublicRandomnessFormat = Literal["lottery", "beacon"]


class Announcement(Strict):
    """The public random value a draw will mix in, named before it exists."""

    public_randomness_source: str | None = Field(
        default=None, min_length=1, max_length=500,
        description="instead of public_randomness: announce a public value that does not exist yet (e.g. "
        "双色球 2026137期开奖号码, drand round 5123456); the draw stops after publishing its portfolio and "
        "commitment (panel empty) until POST /draws/{id}/reveal brings the value",
    )
    public_randomness_at: datetime | None = Field(
        default=None, description="with a source: when its value becomes public; the reveal is refused before"
    )
    public_randomness_format: PublicRandomnessFormat | None = Field(
        default=None, description="with a source: lottery (RFC 3797 numbers) or beacon (64 hex digits)"
    )

    @model_validator(mode="after")
    def _announced_completely(self) -> Announcement:
        given = [self.public_randomness_at is not None, self.public_randomness_format is not None]
        if self.public_randomness_source is None and any(given):
            raise ValueError("public_randomness_at and public_randomness_format go with public_randomness_source")
        if self.public_randomness_source is not None and not all(given):
            raise ValueError("an announced public_randomness_source needs public_randomness_at and "
                             "public_randomness_format")
        if self.public_randomness_at is not None and self.public_randomness_at.tzinfo is None:
            raise ValueError("public_randomness_at needs a time zone")
        return self


class DrawTerms(BaseModel):
    """What a consultation's panel must look like, carried unchanged into every
    replacement round (stored with each draw as its ``request``)."""

    model_config = ConfigDict(extra="ignore")

    composition: Composition
    expertise: list[str] = Field(default_factory=list)
    quotas: list[QuotaIn] = Field(default_factory=list)
    exclude_departments: list[str] = Field(default_factory=list)
    cooldown_days: int = 90


class DrawCreate(Announcement):
    consultation_id: int = Field(ge=1, description="the consultation (topic id of its ConsultationWorkflow)")
    round: int = Field(ge=0, le=1000, description="0 = first draw; after voiding the latest draw, the next round")
    composition: Composition
    expertise: Annotated[list[Expertise], AfterValidator(unique)] = Field(
        default_factory=list, max_length=16,
        description="talents must have at least one of these fields; members and public reps are not filtered",
    )
    quotas: list[QuotaIn] = Field(default_factory=list, max_length=200)
    exclude_departments: Annotated[list[Name], AfterValidator(unique)] = Field(
        default_factory=list, max_length=50,
        description="people declaring a conflict with any of these departments are not drawn",
    )
    cooldown_days: int = Field(default=90, ge=0, le=3650, description="people drawn within this many days are not drawn")
    public_randomness: str | None = Field(
        default=None, min_length=1, max_length=500,
        description="a public random value mixed into the seed (RFC 3797 lottery numbers, a drand round's randomness)",
    )

    @model_validator(mode="after")
    def _no_duplicate_quotas(self) -> DrawCreate:
        if self.public_randomness and self.public_randomness_source:
            raise ValueError("give public_randomness now or announce public_randomness_source, not both")
        seen = set()
        for q in self.quotas:
            if (q.attribute, q.value, q.kind) in seen:
                scope = f" among {q.kind}" if q.kind else ""
                raise ValueError(f"two quotas on {q.attribute}={q.value}{scope}")
            seen.add((q.attribute, q.value, q.kind))
        return self

    def terms(self) -> DrawTerms:
        return DrawTerms.model_validate(self.model_dump(mode="json"))


class ReplacementCreate(Announcement):
    round: int = Field(ge=1, le=1000, description="the next round: exactly one after the draw it replaces")
    declined: Annotated[list[int], AfterValidator(unique)] = Field(
        min_length=1, max_length=500,
        description="person ids on the replaced draw's panel whose decline or silence the lifecycle recorded",
    )
    public_randomness: str | None = Field(default=None, min_length=1, max_length=500,
                                          description="optional public random value mixed into this round's seed")

    @model_validator(mode="after")
    def _one_randomness(self) -> ReplacementCreate:
        if self.public_randomness and self.public_randomness_source:
            raise ValueError("give public_randomness now or announce public_randomness_source, not both")
        return self


class RevealCreate(Strict):
    public_randomness: str = Field(min_length=1, max_length=500, description="the announced public value, as published")


class VoidCreate(Strict):
    reason: str = Field(min_length=5, max_length=500, description="why the draw is void; published beside it")


class PublishedPortfolio(BaseModel):
    """Phase 1, published before any panel exists: anyone can hash `portfolio` (canonical
    JSON, see docs/talent-draws.md) and compare it with `portfolio_hash`."""

    draw_id: int
    portfolio_hash: str
    commitment: str
    public_randomness_source: str | None
    public_randomness_at: datetime | None
    public_randomness_format: str | None
    announced_at: datetime
    portfolio: dict[str, Any]


class DrawRead(BaseModel):
    """What the consultation workflow relies on: keep these fields and their meaning."""

    id: int
    consultation_id: int
    round: int
    panel: list[int] = Field(description="the whole panel, person ids ascending")
    drawn: list[int] = Field(description="newly drawn in this round (all of the panel in a first draw)")
    replaces_draw_id: int | None
    portfolio_hash: str
    commitment: str
    min_probability: float
    algorithm_version: str
    created_at: datetime
    status: str = Field(description="announced (waiting for its public value), drawn, or void")
    public_randomness_source: str | None = None
    public_randomness_at: datetime | None = None
    void_reason: str | None = None


class DrawPage(BaseModel):
    items: list[DrawRead]
    total: int
    next_after: int | None


class PublicDraw(BaseModel):
    """What anyone may read, without a token: the announcement before the reveal,
    then the outcome's fingerprints; a voided draw stays listed with its reason.
    No person ids, no names."""

    draw_id: int
    consultation_id: int
    round: int
    replaces_draw_id: int | None
    status: str = Field(description="announced, drawn or void")
    announced_at: datetime = Field(description="when the portfolio hash and the commitment were published")
    portfolio_hash: str
    commitment: str
    public_randomness_source: str | None
    public_randomness_at: datetime | None
    public_randomness_format: str | None
    public_randomness: str | None = Field(description="the public value, once revealed")
    seats: int
    replaced_seats: int = Field(description="in a replacement round: how many declined or silent were replaced")
    drawn_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None


class PublicDrawPage(BaseModel):
    items: list[PublicDraw]
    total: int
    next_after: int | None


class ProbabilityRead(BaseModel):
    person_id: int
    probability: str = Field(description="exact, as num/den")
    probability_float: float


class ProbabilityPage(BaseModel):
    items: list[ProbabilityRead]
    total: int
    next_after: int | None
    min_probability: str


class VerificationRead(BaseModel):
    ok: bool
    passed: list[str]
    failures: list[str]
