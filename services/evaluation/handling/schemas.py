"""Shapes of proposal handling (办理): co-handlers (会办), objections to an assignment
(交办异议), formal replies (答复) and their disclosure review (答复公开)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.types import DueTimestamp

ReplyClass = Literal["A", "B", "C", "D"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoHandlerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    commitment_id: int
    department: str
    assigned_at: datetime
    due_at: datetime
    status: str  # open | opinion_pending | submitted
    escalation_level: int
    opinion: str | None
    opinion_at: datetime | None
    workflow_id: str


class OpinionCreate(_Strict):
    opinion: str = Field(min_length=1, max_length=5000, description="会办意见, sent to the lead department")


class ObjectionCreate(_Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why the assignment is wrong (交办异议)")
    co_handler_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                      description="Object to a co-handling assignment; omitted: to the lead assignment")


class ObjectionDecisionCreate(_Strict):
    reassign_to: str | None = Field(default=None, min_length=1, max_length=60,
                                    description="The department that takes over; omitted: the objection is dismissed")
    new_due_at: DueTimestamp | None = Field(default=None, description="Optional new due date for the new owner")
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _due_only_with_reassignment(self) -> ObjectionDecisionCreate:
        if self.new_due_at is not None and self.reassign_to is None:
            raise ValueError("new_due_at: only a reassignment sets a new due date")
        return self


class ObjectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    commitment_id: int
    co_handler_id: int | None
    department: str
    reason: str
    raised_at: datetime
    status: str  # pending | reassigning | reassigned | dismissed
    reassigned_to: str | None
    new_due_at: datetime | None
    decision_note: str | None
    decided_at: datetime | None


class ReplyCreate(_Strict):
    reply_class: ReplyClass = Field(description="A 已解决 (solved) / B 正在解决 (in progress: answer again once solved) "
                                                "/ C 列入计划 (planned later) / D 留作参考 (for reference)")
    text: str = Field(min_length=1, max_length=10000, description="答复 in full; contact data is removed before publishing")


class ReviewCreate(_Strict):
    decision: Literal["publish_full", "publish_summary", "withhold"]
    summary: str | None = Field(default=None, min_length=1, max_length=5000,
                                description="The reviewed summary (publish_summary)")
    reason: str | None = Field(default=None, min_length=1, max_length=2000,
                               description="Why it is withheld (withhold)")

    @model_validator(mode="after")
    def _what_each_decision_needs(self) -> ReviewCreate:
        if self.decision == "publish_summary" and not self.summary:
            raise ValueError("summary: publish_summary needs the reviewed summary")
        if self.decision == "withhold" and not self.reason:
            raise ValueError("reason: withholding a reply needs a reason")
        if self.decision == "publish_full" and (self.summary or self.reason):
            raise ValueError("publish_full takes neither summary nor reason")
        return self


class ReplyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    commitment_id: int
    action_id: int
    department: str
    reply_class: ReplyClass
    text: str
    answered_at: datetime
    review_due_at: datetime
    review_status: str  # pending | published | withheld
    disclosure: str | None
    public_text: str | None
    withheld_reason: str | None
    reviewed_at: datetime | None
    published_at: datetime | None
