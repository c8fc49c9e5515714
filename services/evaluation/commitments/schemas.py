"""Commitment API shapes (承诺、进展、延期、办结、核查、满意度)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.common.types import DbId, DueTimestamp, UTCTimestamp
from services.common.vocabulary import Rating  # 满意 / 基本满意 / 不满意

from ..notifications.schemas import _no_contact_data

VerificationMeans = Literal[
    "inspection",  # 委员视察
    "research_supervision",  # 调研督查
    "democratic_appraisal",  # 民主测评
    "meeting_supervision",  # 会议督办
    "circulated_notice",  # 文件通报
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoHandlerCreate(_Strict):
    department: str = Field(min_length=1, max_length=60, description="会办单位")
    due_at: DueTimestamp | None = Field(
        default=None, description="When its opinion is due; default: co_handling_opinion_working_days after assignment"
    )


class CommitmentCreate(_Strict):
    consultation_topic_id: DbId
    department: str = Field(min_length=1, max_length=60, description="承办单位, e.g. 教育体育局")
    leader_in_charge: str | None = Field(default=None, max_length=60, description="分管领导")
    content: str = Field(min_length=1, max_length=2000, description="承诺内容")
    due_at: DueTimestamp
    organiser: str | None = Field(default=None, max_length=60)
    plan_year: int | None = Field(default=None, ge=2000, le=2100)
    policy: Literal["production", "seconds"] = Field(
        default="production",
        description="production: offsets in working days of the official calendar; "
        "seconds: the same ladder with one working day = seconds_scale seconds (demos, tests)",
    )
    seconds_scale: float = Field(default=1.0, gt=0, le=86400)
    co_handlers: list[CoHandlerCreate] = Field(
        default_factory=list, max_length=10,
        description="会办单位: each sends its opinion to the lead department by its own deadline",
    )

    @model_validator(mode="after")
    def _distinct_departments(self) -> CommitmentCreate:
        seen = {self.department}
        for n, co in enumerate(self.co_handlers):
            if co.department in seen:
                raise ValueError(f"co_handlers[{n}].department: {co.department} is already the lead or a co-handler")
            seen.add(co.department)
            if co.due_at is not None and co.due_at > self.due_at:
                raise ValueError(f"co_handlers[{n}].due_at: the opinion is due no later than the commitment")
        return self


class CommitmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    consultation_topic_id: int
    department: str
    leader_in_charge: str | None
    content: str
    organiser: str | None
    plan_year: int | None
    original_due_at: datetime
    due_at: datetime
    status: str
    escalation_level: int
    reopenings: int
    completed_at: datetime | None
    closed_at: datetime | None
    satisfaction: str | None
    created_at: datetime
    workflow_id: str
    policy: dict[str, Any]
    assigned_at: datetime | None = None
    reply_class: str | None = None


class CommitmentPage(BaseModel):
    items: list[CommitmentRead]
    total: int
    next_after: int | None


class ProgressReportCreate(_Strict):
    content: str = Field(min_length=1, max_length=5000, description="进展情况")
    percent_done: int | None = Field(default=None, ge=0, le=100)


class ExtensionRequestCreate(_Strict):
    requested_due_at: DueTimestamp
    reason: str = Field(min_length=1, max_length=2000)


class ExtensionDecisionCreate(_Strict):
    granted: bool
    new_due_at: DueTimestamp | None = Field(default=None, description="defaults to the requested date")
    note: str | None = Field(default=None, max_length=2000)


class CompletionCreate(_Strict):
    summary: str = Field(min_length=1, max_length=5000, description="办结情况")


class VerificationCreate(_Strict):
    means: VerificationMeans
    passed: bool
    notes: str | None = Field(default=None, max_length=5000)


class SatisfactionCreate(_Strict):
    rating: Rating = Field(description="对办理结果: satisfaction with the outcome; 不满意 sends it back for handling again")
    handling_rating: Rating | None = Field(
        default=None, description="对办理工作: satisfaction with the handling work (contact, attitude), reported apart"
    )
    comment: str | None = Field(default=None, max_length=2000)


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    commitment_id: int
    kind: str
    payload: dict[str, Any]
    actor: str
    actor_role: str
    created_at: datetime
    outcome: str
    outcome_detail: str | None


class CommitmentStateUpdate(_Strict):
    commitment_id: int
    state_key: str = Field(max_length=300)
    status: Literal["open", "completed", "verified", "closed"]
    escalation_level: int = Field(ge=0, le=10)
    due_at: UTCTimestamp
    reopenings: int = Field(ge=0)
    completed_at: UTCTimestamp | None = None
    closed_at: UTCTimestamp | None = None
    satisfaction: Rating | None = None
    department: str | None = Field(default=None, max_length=60)
    reply_class: Literal["A", "B", "C", "D"] | None = None

    @model_validator(mode="after")
    def _closed_has_time(self) -> CommitmentStateUpdate:
        if self.status == "closed" and self.closed_at is None:
            raise ValueError("a closed commitment needs closed_at")
        return self


class EscalationEventCreate(_Strict):
    commitment_id: int
    event_key: str = Field(min_length=1, max_length=200)
    step: str = Field(min_length=1, max_length=40)
    level: int = Field(ge=0, le=10)
    generation: int = Field(ge=0)
    planned_at: UTCTimestamp
    fired_at: UTCTimestamp
    summary: Annotated[str, AfterValidator(_no_contact_data)] = Field(
        max_length=300, description="carried into the escalation's notification: no contact data"
    )
    provisional: bool = False
    co_handler_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    # The commitment's state once this rung is recorded (the workflow's mirror, as
    # PUT /commitments/{id}/state takes it): stored in the same transaction as the event,
    # so a rung costs one request. Absent from follow-ups that sync it apart.
    state: CommitmentStateUpdate | None = None

    @model_validator(mode="after")
    def _state_of_this_commitment(self) -> EscalationEventCreate:
        if self.state is not None and self.state.commitment_id != self.commitment_id:
            raise ValueError("state.commitment_id must be the event's commitment_id")
        if self.state is not None and self.co_handler_id is not None:
            raise ValueError("state: a co-handler's rung carries no commitment state")
        return self


class EscalationEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_key: str
    commitment_id: int
    step: str
    level: int
    generation: int
    planned_at: datetime
    fired_at: datetime
    provisional: bool
    summary: str
    co_handler_id: int | None = None


class AttentionRead(BaseModel):
    """待处理: the step the follow-up stopped at, and why."""

    step: str
    reason: str
    since: datetime
    episode: int


class FollowUpRead(BaseModel):
    """Where a commitment's follow-up stands, read from its workflow."""

    commitment_id: int
    stage: str
    due_at: datetime
    level: int
    needs_attention: AttentionRead | None = None

    @classmethod
    def from_status(cls, status: Any) -> FollowUpRead:
        attention = status.needs_attention
        return cls(commitment_id=status.commitment_id, stage=status.stage, due_at=status.due_at, level=status.level,
                   needs_attention=AttentionRead(**attention.__dict__) if attention else None)
