"""Inputs and results shared by FollowUpWorkflow, its activities and evaluation.

Ids, vocabulary values and times only: no personal data travels in a workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .attention import Attention
from .ids import cohandling_workflow_id, followup_workflow_id  # noqa: F401 - where services import them from


class FollowUpStage:
    OPEN = "open"  # being handled; the ladder runs
    COMPLETED = "completed"  # department reported completion; awaiting verification
    VERIFIED = "verified"  # verified; awaiting the satisfaction rating
    CLOSED = "closed"


@dataclass
class PlannedStepData:
    name: str
    level: int
    fire_at: str  # ISO 8601 UTC
    summary: str
    provisional: bool = False


@dataclass
class FollowUpPlan:
    due_at: str
    steps: list[PlannedStepData]
    next_progress_due: str
    next_progress_summary: str
    provisional: bool  # the due date or a rung rests on a year whose schedule is unknown
    progress_provisional: bool = False  # the next progress-report date does


@dataclass
class PlanRequest:
    commitment_id: int
    due_at: str
    policy: dict[str, Any]
    progress_since: str  # last progress report (or the start): the cadence counts from it


@dataclass
class ReopenRequest:
    commitment_id: int
    reopenings_so_far: int
    rated_at: str
    policy: dict[str, Any]


@dataclass
class ReopenDecision:
    action: str  # reopen | escalate_to_top
    new_due_at: str
    summary: str


@dataclass
class CommitmentState:
    """What evaluation mirrors of the workflow, so listings need no Temporal call."""

    commitment_id: int
    state_key: str  # idempotency key
    status: str
    escalation_level: int
    due_at: str
    reopenings: int
    completed_at: str | None = None
    closed_at: str | None = None
    satisfaction: str | None = None
    # Issue 13 (behind the workflow's "handling-v1" patch): the lead department in force
    # after a reassignment, and the class of its latest reply.
    department: str | None = None
    reply_class: str | None = None


@dataclass
class EscalationRecord:
    commitment_id: int
    event_key: str  # idempotency key: one record per (commitment, generation, step)
    step: str
    level: int
    generation: int
    planned_at: str
    fired_at: str
    summary: str
    provisional: bool = False
    co_handler_id: int | None = None  # a co-handler's own ladder (CoHandlingWorkflow)
    # The commitment's state once this rung is recorded, stored by evaluation with the
    # record (state-with-record-v1); None in histories from before, which synced apart.
    state: CommitmentState | None = None


@dataclass
class FollowUpInput:
    commitment_id: int
    department: str
    due_at: str
    policy: dict[str, Any]
    started_at: str = ""
    # Carried across continue-as-new:
    stage: str = FollowUpStage.OPEN
    generation: int = 0
    level: int = 0
    reopenings: int = 0
    fired: list[str] = field(default_factory=list)
    last_progress_at: str = ""
    last_action_id: int = 0
    completed_at: str | None = None
    # Continue-as-new after this many history events (the server's own suggestion
    # comes far later); small in tests to exercise it.
    history_limit: int = 2000
    # The consultation whose meeting made the commitment: told when this one closes.
    consultation_topic_id: int = 0
    # Carried across continue-as-new since "handling-v1": the lead department in force
    # (None: ``department``), the latest reply's class, and whether a B reply (正在解决)
    # waits to be answered again as solved (A).
    current_department: str | None = None
    reply_class: str | None = None
    awaiting_solved: bool = False


@dataclass
class FollowUpAction:
    """An action stored in evaluation (commitment_actions row), delivered as an update."""

    action_id: int
    kind: str  # progress_report | extension_granted | completion | verification | satisfaction | reply | reassign
    at: str  # ISO 8601 UTC, when it was recorded
    new_due_at: str | None = None  # extension_granted; reassign (optional)
    passed: bool | None = None  # verification
    rating: str | None = None  # satisfaction: satisfied | basically_satisfied | unsatisfied
    reply_class: str | None = None  # reply: A 已解决 | B 正在解决 | C 列入计划 | D 留作参考
    department: str | None = None  # reassign: the new lead department


@dataclass
class FollowUpClosed:
    """Signal to the consultation: one of its commitments is closed."""

    commitment_id: int
    satisfaction: str | None
    closed_at: str


@dataclass
class FollowUpStatus:
    commitment_id: int
    stage: str
    due_at: str
    level: int
    generation: int
    reopenings: int
    fired: list[str]
    next_step: str | None
    next_fire_at: str | None
    provisional: bool
    # Set while the follow-up waits for staff (待处理): the failed step and why.
    needs_attention: Attention | None = None
    department: str | None = None
    reply_class: str | None = None
    awaiting_solved: bool = False


@dataclass
class CoHandlingInput:
    """A co-handler's (会办单位) opinion to the lead department, with its own deadline."""

    co_handler_id: int
    commitment_id: int
    department: str
    due_at: str
    policy: dict[str, Any]
    # Carried across continue-as-new:
    generation: int = 0
    level: int = 0
    fired: list[str] = field(default_factory=list)
    history_limit: int = 2000


@dataclass
class OpinionDelivered:
    """The co-handler's opinion is stored in evaluation (its text stays there)."""

    at: str


@dataclass
class CoReassign:
    """The office moved the co-handling to another department (an objection upheld)."""

    department: str
    new_due_at: str | None = None
    objection_id: int = 0


@dataclass
class CoHandlingStatus:
    co_handler_id: int
    commitment_id: int
    department: str
    stage: str  # open | submitted
    due_at: str
    level: int
    generation: int
    fired: list[str]
    next_step: str | None
    needs_attention: Attention | None = None
