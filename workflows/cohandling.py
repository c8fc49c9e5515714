"""CoHandlingWorkflow: one per co-handling department (会办单位) of a commitment, id
``cohandling-<commitment id>-<co-handler id>`` (namespaced like the follow-up's).

The lead department (主办) answers for the commitment in its FollowUpWorkflow; each
co-handler owes the lead its opinion (会办意见) by its own deadline (within a month in
the practice) and is followed up on its own: the same ladder (reminder, 催办, 督办 …)
planned from its own due date, recorded in evaluation as escalation events carrying the
co-handler's id, so the notices go to the co-handler and not to the lead. A separate
workflow rather than more timers in the follow-up: each co-handler's clock can be
reassigned, answered or escalated without touching the lead's history, and the saved
follow-up histories replay unchanged.

The opinion's text stays in evaluation; the workflow hears only that it was given
(update ``opinion_delivered``) and ends. ``reassign`` (an objection upheld by the
office) moves the ladder to the new department from the due date in force.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.common.search_attributes import CONSULTATION_STAGE, DEPARTMENT, DUE_TIME, ESCALATION_LEVEL

    from .activities import NoticeRequest
    from .attention import Attention, AttentionMixin, ResumeRequest
    from .followup_activities import FollowUpActivities
    from .followup_types import (
        CoHandlingInput,
        CoHandlingStatus,
        CoReassign,
        EscalationRecord,
        FollowUpPlan,
        OpinionDelivered,
        PlannedStepData,
        PlanRequest,
    )

OPEN = "open"
SUBMITTED = "submitted"
_ACTIVITY = dict(start_to_close_timeout=timedelta(seconds=30), retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)))


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


@workflow.defn
class CoHandlingWorkflow(AttentionMixin):
    @workflow.init
    def __init__(self, params: CoHandlingInput) -> None:
        self._in = params
        self._department = params.department
        self._due_at = params.due_at
        self._generation = params.generation
        self._level = params.level
        self._fired = list(params.fired)
        self._stage = OPEN
        self._plan: FollowUpPlan | None = None
        self._changed = False
        self._attention_init()

    @workflow.run
    async def run(self, params: CoHandlingInput) -> CoHandlingStatus:
        self._publish()
        while self._stage == OPEN:
            if self._plan is None:
                self._plan = await self._step(
                    "plan_co_handling", FollowUpActivities.plan_follow_up,
                    # The progress cadence of the plan is not used: an opinion is one answer.
                    lambda: PlanRequest(commitment_id=self._in.commitment_id, due_at=self._due_at,
                                        policy=self._in.policy, progress_since=self._due_at),
                    summary=f"plan the co-handler's ladder from due {self._due_at}", legacy=_ACTIVITY,
                )
                self._due_at = self._plan.due_at
                self._publish()
            if workflow.info().get_current_history_length() > self._in.history_limit:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry())
            step = self._next_step()
            try:
                if step is None:
                    await workflow.wait_condition(lambda: self._changed)
                else:
                    delay = max((_dt(step.fire_at) - workflow.now()).total_seconds(), 0)
                    await workflow.wait_condition(lambda: self._changed, timeout=delay, timeout_summary=step.summary)
            except TimeoutError:
                await self._fire_due()
            self._changed = False
            self._publish()
        return self.status()

    def _next_step(self) -> PlannedStepData | None:
        if self._plan is None:
            return None
        for step in self._plan.steps:
            if step.name not in self._fired and (step.level > self._level or step.level == self._level == 0):
                return step
        return None

    async def _fire_due(self) -> None:
        now = workflow.now()
        while (step := self._next_step()) is not None and _dt(step.fire_at) <= now:
            fired_at = workflow.now().isoformat()
            await self._step(
                "record_escalation", FollowUpActivities.record_escalation,
                lambda step=step, fired_at=fired_at: EscalationRecord(
                    commitment_id=self._in.commitment_id,
                    event_key=f"commitment-{self._in.commitment_id}-co{self._in.co_handler_id}"
                              f"-g{self._generation}-{step.name}",
                    step=step.name, level=step.level, generation=self._generation, planned_at=step.fire_at,
                    fired_at=fired_at, summary=f"会办意见: {step.summary}", provisional=step.provisional,
                    co_handler_id=self._in.co_handler_id,
                ),
                summary=f"会办意见: {step.summary}", legacy=_ACTIVITY,
            )
            self._fired.append(step.name)
            self._level = max(self._level, step.level)

    # ------------------------------------------------------------------ updates
    @workflow.update
    def opinion_delivered(self, opinion: OpinionDelivered) -> CoHandlingStatus:
        self._stage = SUBMITTED
        self._changed = True
        return self.status()

    @opinion_delivered.validator
    def _validate_opinion(self, opinion: OpinionDelivered) -> None:
        if self._stage != OPEN:
            raise ValueError("the co-handler's opinion was given already")

    @workflow.update
    def reassign(self, change: CoReassign) -> CoHandlingStatus:
        self._department = change.department
        if change.new_due_at:
            self._due_at = change.new_due_at
        self._generation += 1
        self._fired = []
        self._level = 0
        self._plan = None
        self._changed = True
        return self.status()

    @reassign.validator
    def _validate_reassign(self, change: CoReassign) -> None:
        if self._stage != OPEN:
            raise ValueError("the co-handler's opinion was given: nothing to reassign")
        if not change.department or change.department == self._department:
            raise ValueError(f"the co-handling is already assigned to {self._department}")
        if change.new_due_at and _dt(change.new_due_at) <= workflow.now():
            raise ValueError("a reassignment's new due date must lie ahead")

    @workflow.update
    def resume(self, request: ResumeRequest) -> CoHandlingStatus:
        self._resume(request)
        return self.status()

    @resume.validator
    def _validate_resume_co_handling(self, request: ResumeRequest) -> None:
        self._validate_resume()

    @workflow.query
    def status(self) -> CoHandlingStatus:
        step = self._next_step() if self._stage == OPEN else None
        return CoHandlingStatus(
            co_handler_id=self._in.co_handler_id, commitment_id=self._in.commitment_id, department=self._department,
            stage=self._stage, due_at=self._due_at, level=self._level, generation=self._generation,
            fired=list(self._fired), next_step=step.name if step else None, needs_attention=self._attention,
        )

    # ------------------------------------------------------------------ needs attention, visibility
    async def _notify_attention(self, attention: Attention) -> None:
        await workflow.execute_activity(
            "send_notice",
            NoticeRequest(
                idempotency_key=f"commitment-{self._in.commitment_id}-co{self._in.co_handler_id}"
                                f"-g{self._generation}-needs-attention-{attention.episode}",
                kind="co_handling.needs_attention",
                recipients=["office:cppcc", f"department:{self._department}"],
                payload={"commitment_id": self._in.commitment_id, "co_handler_id": self._in.co_handler_id,
                         "step": attention.step, "reason": attention.reason},
            ),
            summary=f"notice: needs attention at {attention.step}",
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10),
        )

    def _attention_changed(self) -> None:
        self._publish()

    def _publish(self) -> None:
        workflow.upsert_search_attributes([
            CONSULTATION_STAGE.value_set(self._stage),
            DEPARTMENT.value_set(self._department),
            ESCALATION_LEVEL.value_set(self._level),
            DUE_TIME.value_set(_dt(self._due_at)),
        ])
        step = self._next_step() if self._stage == OPEN else None
        workflow.set_current_details("\n".join([
            f"**会办 #{self._in.co_handler_id}** (承诺 #{self._in.commitment_id}) · {self._department}",
            f"- stage: {self._stage}; escalation level: {self._level}; due: {self._due_at}",
            f"- next: {step.summary if step else 'nothing scheduled'}",
        ]))

    def _carry(self) -> CoHandlingInput:
        return CoHandlingInput(
            co_handler_id=self._in.co_handler_id, commitment_id=self._in.commitment_id, department=self._department,
            due_at=self._due_at, policy=self._in.policy, generation=self._generation, level=self._level,
            fired=list(self._fired), history_limit=self._in.history_limit,
        )
