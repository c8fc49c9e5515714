"""The values ConsultationWorkflow exchanges with intake: its input, status, decision and
plan amendment, the stage and outcome names, and the pure check of a decision.

Apart from the workflow module on purpose: the worker's sandbox re-imports a workflow's
module for every workflow it builds, and creating these dataclasses was a tenth of the
worker's CPU per new topic (docs/benchmarks.md). This module is passed through the
sandbox (imported once per process): it holds values and pure functions only, no
workflow calls, nothing that reads the clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common import vocabulary

from .attention import Attention
from .lifecycle_types import ConsultationTiming, DrawAnnouncement, Invitation


@dataclass
class ConsultationInput:
    topic_id: int
    channel: str
    # None in histories from before the lifecycle: production timing.
    timing: ConsultationTiming | None = None


@dataclass
class ConsultationStatus:
    topic_id: int
    stage: str
    draw_id: int | None = None
    panel: list[int] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)
    meeting_id: int | None = None
    commitment_ids: list[int] = field(default_factory=list)
    closed_commitment_ids: list[int] = field(default_factory=list)
    # Set while the consultation waits for staff (待处理): the failed step and why.
    needs_attention: Attention | None = None
    # Set while a draw is announced and waits for its public value.
    announcement: DrawAnnouncement | None = None


class Stage:
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"
    RESEARCH = "research"  # 调研
    DRAWING = "drawing"  # participants drawn (talent)
    INVITING = "inviting"  # invitations answered; declines and silence bring replacements
    MEETING = "meeting"  # waiting for the meeting record (协商议事会)
    FOLLOW_UP = "follow_up"  # one FollowUpWorkflow per commitment
    EVALUATION = "evaluation"  # the two-way evaluation window (双向评价)
    CLOSED = "closed"


# The stages after acceptance in which the plan entry may still be amended.
AMENDABLE = ("accepted", "research")


class Outcome:
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"


FORMATS = vocabulary.FORMATS  # plenary, standing_committee, special_topic, sector_micro


@dataclass
class DecisionInput:
    """The chair's decision: ids and vocabulary values only (the reason text stays in
    intake's database)."""

    decision_id: int
    outcome: str  # Outcome.*
    format: str | None = None  # ConsultationFormat value, when accepted
    organiser: str | None = None  # organiser code, when accepted
    plan_year: int | None = None
    planned_month: int | None = None
    merged_into_topic_id: int | None = None


@dataclass
class PlanAmendment:
    """A plan entry edited after acceptance (format, organiser, year)."""

    decision_id: int
    format: str
    organiser: str
    plan_year: int


def decision_problem(decision: DecisionInput, topic_id: int) -> str | None:
    """Why ``decision`` is not a valid decision for a topic, or None. Pure, so the
    service can check the same rules before it writes anything."""
    if decision.outcome == Outcome.ACCEPTED:
        if decision.format not in FORMATS:
            return f"format must be one of {', '.join(FORMATS)}"
        if not decision.organiser:
            return "an accepted topic needs an organiser"
        if decision.plan_year is None or not 2000 <= decision.plan_year <= 2100:
            return "an accepted topic needs a plan year between 2000 and 2100"
        if decision.planned_month is not None and not 1 <= decision.planned_month <= 12:
            return "planned_month must be 1..12"
    elif decision.outcome == Outcome.MERGED:
        if not decision.merged_into_topic_id:
            return "a merge needs the topic to merge into"
        if decision.merged_into_topic_id == topic_id:
            return "a topic cannot be merged into itself"
    elif decision.outcome != Outcome.REJECTED:
        return f"unknown outcome '{decision.outcome}'"
    return None
