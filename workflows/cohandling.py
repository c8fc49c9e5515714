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

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.common.search_attributes import CONSULTATION_STAGE, DEPARTMENT

    from .activities import NoticeRequest
    from .attention import Attention, AttentionMixin, ResumeRequest
    from .followup_types import (
        CoHandlingInput,
        CoHandlingStatus,
        CoReassign,
        OpinionDelivered,
        PlannedStepData,
    )
    from .ladder import EscalationLadder, instant, upsert_search_attributes, wait_for_wake

OPEN = "open"
SUBMITTED = "submitted"
#: The lead's ``ladder-generation-guard-v1`` for a co-handler's ladder: a rung recorded
#: while a reassignment restarted the ladder does not count in the new round.
CO_LADDER_GENERATION_PATCH = "co-ladder-generation-guard-v1"


@workflow.defn
class CoHandlingWorkflow(AttentionMixin):
    @workflow.init
    def __init__(self, params: CoHandlingInput) -> None:
        self._in = params
        self._department = params.department
        self._ladder = EscalationLadder(params, self._step)
        self._stage = OPEN
        self._changed = False
        self._attention_init()

    @workflow.run
    async def run(self, params: CoHandlingInput) -> CoHandlingStatus:
        # The lead's loop (FollowUpWorkflow.run) around the same ladder, less what an
        # opinion does not have: no progress-report cadence (the only wake is the next
        # rung; with none left, only an update wakes it), no state mirrored in
        # evaluation, no reopening. Its history check reads the length only: heeding the
        # server's suggestion as the lead does would continue-as-new at other points than
        # the runs recorded so far.
        self._publish()
        while self._stage == OPEN:
            if self._ladder.plan is None:
                # The progress cadence of the plan is not used: an opinion is one answer.
                await self._ladder.replan("plan_co_handling",
                                          summary=f"plan the co-handler's ladder from due {self._ladder.due_at}",
                                          progress_since=lambda: self._ladder.due_at)
                self._publish()
            if workflow.info().get_current_history_length() > self._in.history_limit:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry())
            if await wait_for_wake(self._ladder.next_wake(), lambda: self._changed):
                await self._ladder.climb_due_rungs(workflow.now(), self._record_rung)
            self._changed = False
            self._publish()
        return self.status()

    async def _record_rung(self, rung: PlannedStepData) -> bool:
        generation = self._ladder.generation
        await self._ladder.record(
            f"co{self._in.co_handler_id}-g{generation}-{rung.name}",
            step=rung.name, level=rung.level, planned_at=rung.fire_at, summary=f"会办意见: {rung.summary}",
            provisional=rung.provisional, co_handler_id=self._in.co_handler_id,
        )
        # A reassignment restarted the ladder while this rung was being recorded: the rung
        # belongs to the old round, and the new round's own rungs must still fire. Runs
        # from before the patch climbed on (the new round's first rung was lost).
        return generation == self._ladder.generation or not workflow.patched(CO_LADDER_GENERATION_PATCH)

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
        self._ladder.restart(change.new_due_at)
        self._changed = True
        return self.status()

    @reassign.validator
    def _validate_reassign(self, change: CoReassign) -> None:
        if self._stage != OPEN:
            raise ValueError("the co-handler's opinion was given: nothing to reassign")
        if not change.department or change.department == self._department:
            raise ValueError(f"the co-handling is already assigned to {self._department}")
        if change.new_due_at and instant(change.new_due_at) <= workflow.now():
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
        step = self._ladder.next_rung() if self._stage == OPEN else None
        ladder = self._ladder
        return CoHandlingStatus(
            co_handler_id=self._in.co_handler_id, commitment_id=self._in.commitment_id, department=self._department,
            stage=self._stage, due_at=ladder.due_at, level=ladder.level, generation=ladder.generation,
            fired=list(ladder.fired), next_step=step.name if step else None, needs_attention=self._attention,
        )

    # ------------------------------------------------------------------ needs attention, visibility
    async def _notify_attention(self, attention: Attention) -> None:
        await workflow.execute_activity(
            "send_notice",
            NoticeRequest(
                idempotency_key=f"commitment-{self._in.commitment_id}-co{self._in.co_handler_id}"
                                f"-g{self._ladder.generation}-needs-attention-{attention.episode}",
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
        upsert_search_attributes([
            CONSULTATION_STAGE.value_set(self._stage),
            DEPARTMENT.value_set(self._department),
            *self._ladder.search_attributes(),
        ])
        step = self._ladder.next_rung() if self._stage == OPEN else None
        workflow.set_current_details("\n".join([
            f"**会办 #{self._in.co_handler_id}** (承诺 #{self._in.commitment_id}) · {self._department}",
            f"- stage: {self._stage}; escalation level: {self._ladder.level}; due: {self._ladder.due_at}",
            f"- next: {step.summary if step else 'nothing scheduled'}",
        ]))

    def _carry(self) -> CoHandlingInput:
        return CoHandlingInput(
            co_handler_id=self._in.co_handler_id, commitment_id=self._in.commitment_id, department=self._department,
            policy=self._in.policy, history_limit=self._in.history_limit, **self._ladder.carried(),
        )
