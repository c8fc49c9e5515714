"""ConsultationWorkflow: the life of one topic (议题), id ``consultation-<topic id>``.

The topic is registered (stage ``submitted``), its search attributes are set for
operators, and evaluation records that the topic was received. Then the workflow waits
for the chair's decision (主席会议), delivered by intake as the ``decide`` update: its
validator refuses an invalid decision before anything is written to the history, so a
refused decision changes nothing. Accepted: the stage is ``accepted`` and the plan's
format, organiser and year become search attributes; the research stages (later
issues) continue from there. Rejected or merged: the workflow ends.

The workflow carries ids only; titles and texts stay in intake's database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from .activities import ConsultationActivities, RecordEventInput
    from .search_attributes import (
        CONSULTATION_FORMAT,
        CONSULTATION_STAGE,
        ORGANISER,
        PLAN_YEAR,
        TOPIC_CHANNEL,
    )


def consultation_workflow_id(topic_id: int) -> str:
    return f"consultation-{topic_id}"


@dataclass
class ConsultationInput:
    topic_id: int
    channel: str


@dataclass
class ConsultationStatus:
    topic_id: int
    stage: str


class Stage:
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"


class Outcome:
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"


FORMATS = ("plenary", "standing_committee", "special_topic", "sector_micro")


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


@workflow.defn
class ConsultationWorkflow:
    @workflow.init
    def __init__(self, params: ConsultationInput) -> None:
        # Set here, not in run: an update can be handled before run's first step (a
        # decision sent right after the start), and its validator needs the topic id.
        self._stage = Stage.SUBMITTED
        self._topic_id = params.topic_id
        self._decision: DecisionInput | None = None

    @workflow.run
    async def run(self, params: ConsultationInput) -> ConsultationStatus:
        # Not _enter(SUBMITTED): a decision handled before this step must not be undone.
        self._enter(self._stage)
        workflow.upsert_search_attributes([TOPIC_CHANNEL.value_set(params.channel)])
        await workflow.execute_activity(
            ConsultationActivities.record_consultation_event,
            RecordEventInput(
                # One key per (topic, event): a retried activity records it once.
                event_key=f"topic-{params.topic_id}-received",
                kind="topic_received",
                topic_id=params.topic_id,
                occurred_at=workflow.now().isoformat(),
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            summary="evaluation: record topic received",
        )
        # The chair's decision arrives as the `decide` update; until then the topic
        # waits here, durably, without holding a worker slot.
        await workflow.wait_condition(lambda: self._stage != Stage.SUBMITTED)
        # Added after histories with decisions were saved (tests/histories): runs that
        # were decided without this step replay without it.
        if workflow.patched("record-decision-event") and self._decision is not None:
            await self._record_decision(self._decision)
        if self._stage == Stage.ACCEPTED:
            # Research, participants and the meeting follow in later issues; until they
            # exist an accepted topic waits here (plan amendments still arrive).
            await workflow.wait_condition(lambda: self._stage != Stage.ACCEPTED)
        # Rejected or merged: nothing more happens to this topic; end cleanly once the
        # update that decided it has answered.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _record_decision(self, decision: DecisionInput) -> None:
        """Evaluation keeps the decision among the consultation's events: the two-way
        evaluation of how precise topic selection was (选题精准性) starts from it."""
        detail = {
            k: v
            for k, v in {
                "outcome": decision.outcome,
                "format": decision.format,
                "organiser": decision.organiser,
                "plan_year": decision.plan_year,
                "merged_into_topic_id": decision.merged_into_topic_id,
            }.items()
            if v is not None
        }
        await workflow.execute_activity(
            ConsultationActivities.record_consultation_event,
            RecordEventInput(
                event_key=f"topic-{self._topic_id}-decided",
                kind="topic_decided",
                topic_id=self._topic_id,
                occurred_at=workflow.now().isoformat(),
                detail=detail,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            summary=f"evaluation: record topic {decision.outcome}",
        )

    @workflow.update
    def decide(self, decision: DecisionInput) -> ConsultationStatus:
        """The chair's decision. Delivered again with the same decision id (a retry
        after a lost answer), it answers the same status and changes nothing."""
        if self._decision is not None and self._decision.decision_id == decision.decision_id:
            return self.status()
        self._decision = decision
        if decision.outcome == Outcome.ACCEPTED:
            assert decision.format and decision.organiser and decision.plan_year
            self._plan_attributes(decision.format, decision.organiser, decision.plan_year)
            self._enter(Stage.ACCEPTED)
        elif decision.outcome == Outcome.REJECTED:
            self._enter(Stage.REJECTED)
        else:
            self._enter(Stage.MERGED)
        return self.status()

    @decide.validator
    def _validate_decision(self, decision: DecisionInput) -> None:
        # Raising here rejects the update before it reaches the history.
        if self._decision is not None and self._decision.decision_id == decision.decision_id:
            return
        if self._stage != Stage.SUBMITTED:
            raise ValueError(f"topic {self._topic_id} was already decided (stage {self._stage})")
        problem = decision_problem(decision, self._topic_id)
        if problem:
            raise ValueError(problem)

    @workflow.update
    def amend_plan(self, amendment: PlanAmendment) -> ConsultationStatus:
        """The plan entry's format, organiser or year changed (the year's plan edited)."""
        self._plan_attributes(amendment.format, amendment.organiser, amendment.plan_year)
        if self._decision is not None:
            self._decision.format = amendment.format
            self._decision.organiser = amendment.organiser
            self._decision.plan_year = amendment.plan_year
        return self.status()

    @amend_plan.validator
    def _validate_amendment(self, amendment: PlanAmendment) -> None:
        if self._stage != Stage.ACCEPTED or self._decision is None:
            raise ValueError(f"topic {self._topic_id} is not in a plan (stage {self._stage})")
        if amendment.decision_id != self._decision.decision_id:
            raise ValueError("the amendment names another decision")
        if amendment.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        if not amendment.organiser or not 2000 <= amendment.plan_year <= 2100:
            raise ValueError("organiser and a plan year between 2000 and 2100 are required")

    def _plan_attributes(self, format_: str, organiser: str, plan_year: int) -> None:
        workflow.upsert_search_attributes(
            [
                CONSULTATION_FORMAT.value_set(format_),
                ORGANISER.value_set(organiser),
                PLAN_YEAR.value_set(plan_year),
            ]
        )

    @workflow.query
    def status(self) -> ConsultationStatus:
        return ConsultationStatus(topic_id=self._topic_id, stage=self._stage)

    def _enter(self, stage: str) -> None:
        self._stage = stage
        workflow.upsert_search_attributes([CONSULTATION_STAGE.value_set(stage)])
        workflow.set_current_details(f"Stage: {stage}")
