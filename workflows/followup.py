"""FollowUpWorkflow: one per commitment (承诺), id ``followup-<commitment id>``.

A reminder before the due date; after it the ladder 催办 → 督办 → 会议督办 → 文件通报,
each rung a durable timer recorded in evaluation. Departments' and committees' actions
arrive as updates (validated: an action that does not fit the stage is refused and
changes nothing). The plan (times of every rung, in working days of the official
calendar or in seconds) is computed in an activity, so replay never depends on the
calendar package or on the clock. Long follow-ups continue-as-new carrying their state.

Top-level, not a child of ConsultationWorkflow: it outlives a consultation's history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.common import vocabulary
    from services.common.search_attributes import (
        CONSULTATION_STAGE,
        DEADLINE_PROVISIONAL,
        DEPARTMENT,
        OVERDUE,
    )

    from .activities import NoticeRequest
    from .attention import Attention, AttentionMixin, ResumeRequest
    from .followup_activities import FollowUpActivities
    from .followup_types import (
        CommitmentState,
        FollowUpAction,
        FollowUpClosed,
        FollowUpInput,
        FollowUpStage,
        FollowUpStatus,
        PlannedStepData,
        ReopenRequest,
    )
    from .ids import consultation_id_beside
    from .ladder import LADDER_ACTIVITY, EscalationLadder, instant, upsert_search_attributes, wait_for_wake

RATINGS = vocabulary.RATINGS
#: A fired rung's record carries the commitment's state after it (evaluation stores both
#: in one transaction), and the state is synced apart only when it differs from what
#: evaluation has: one activity, one HTTP call and one workflow task less per rung.
#: Runs from before sync after every change, as their histories show.
STATE_WITH_RECORD = "state-with-record-v1"
REPLY_CLASSES = ("A", "B", "C", "D")  # 答复: 已解决 / 正在解决 / 列入计划 / 留作参考
HANDLING_KINDS = ("reply", "reassign")  # issue 13
HANDLING_PATCH = "handling-v1"
LADDER_GENERATION_PATCH = "ladder-generation-guard-v1"
_ACTIVITY = LADDER_ACTIVITY


def _iso(value: datetime) -> str:
    return value.isoformat()


@workflow.defn
class FollowUpWorkflow(AttentionMixin):
    @workflow.init
    def __init__(self, params: FollowUpInput) -> None:
        self._in = params
        self._stage = params.stage
        self._ladder = EscalationLadder(params, self._step)
        self._reopenings = params.reopenings
        self._last_progress_at = params.last_progress_at or params.started_at
        self._last_action_id = params.last_action_id
        self._completed_at = params.completed_at
        self._closed_at: str | None = None
        self._satisfaction: str | None = None
        self._reopen_rated_at: str | None = None
        self._changed = False
        # Under STATE_WITH_RECORD: the state evaluation was last given (record or sync).
        self._state_with_record = False
        self._synced: CommitmentState | None = None
        # Issue 13: the lead department in force (a reassignment moves it), the class of
        # its latest reply, and whether a B reply waits to be answered again as A.
        self._department = params.current_department or params.department
        self._reply_class = params.reply_class
        self._awaiting_solved = params.awaiting_solved
        self._attention_init()

    # ------------------------------------------------------------------ main loop
    @workflow.run
    async def run(self, params: FollowUpInput) -> FollowUpStatus:
        # Decided once per run, first: a run replayed from before the patch keeps the
        # old shape to its end (continue-as-new starts a run with the new one).
        self._state_with_record = workflow.patched(STATE_WITH_RECORD)
        if not self._last_progress_at:
            self._last_progress_at = _iso(workflow.now())
        self._publish()
        await self._sync_state()
        while self._stage != FollowUpStage.CLOSED:
            if self._reopen_rated_at is not None:
                await self._reopen()
            if self._ladder.plan is None:
                await self._replan()
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry())
            if self._stage == FollowUpStage.OPEN:
                if await wait_for_wake(self._next_wake(), lambda: self._changed):
                    await self._fire_due()
            else:
                await workflow.wait_condition(lambda: self._changed)
            if self._changed:
                self._changed = False
                self._publish()
                await self._sync_state()
        await self._sync_state()
        if workflow.patched("tell-consultation-when-closed") and self._in.consultation_topic_id:
            # A signal, not a child relation: the consultation may have continued-as-new.
            try:
                # Same namespace as this follow-up's own id (services/common/workflow_ids.py): unchanged
                # ("consultation-<topic>") for un-namespaced ids and saved histories.
                await workflow.get_external_workflow_handle(
                    consultation_id_beside(workflow.info().workflow_id, self._in.consultation_topic_id)
                ).signal(
                    "follow_up_closed",
                    FollowUpClosed(
                        commitment_id=self._in.commitment_id,
                        satisfaction=self._satisfaction,
                        closed_at=self._closed_at or _iso(workflow.now()),
                    ),
                )
            except Exception as exc:  # noqa: BLE001 - the commitment is closed either way
                workflow.logger.warning("consultation not told of closed commitment: %s", type(exc).__name__)
        return self.status()

    def _next_wake(self) -> tuple[datetime, str]:
        """The next rung, or the next progress report when it is due first: the lead
        department also reports progress on a cadence (a co-handler does not)."""
        plan = self._ladder.plan
        assert plan is not None
        progress_due = instant(plan.next_progress_due)
        rung = self._ladder.next_wake()
        if rung is not None and rung[0] <= progress_due:
            return rung
        return progress_due, plan.next_progress_summary

    async def _fire_due(self) -> None:
        """Record every rung whose time has come, in order, each exactly once; then the
        progress report, when it is missing."""
        assert self._ladder.plan is not None
        now = workflow.now()
        await self._ladder.climb_due_rungs(now, self._record_rung)
        # An update (progress report, extension, B reply) may have dropped the plan while a
        # rung was being recorded: the loop re-plans; nothing more is due from the old plan.
        plan = self._ladder.plan
        if plan is not None and instant(plan.next_progress_due) <= now:
            due = plan.next_progress_due
            await self._record(f"progress-missing-{due}", "progress_missing", self._ladder.level, due,
                               f"进展报告催报: {plan.next_progress_summary}")
            # The next report is due one cadence after the one that was missed.
            self._last_progress_at = due
            self._ladder.plan = None
            self._changed = True

    async def _record_rung(self, rung: PlannedStepData) -> bool:
        generation = self._ladder.generation
        await self._record(f"g{generation}-{rung.name}", rung.name, rung.level, rung.fire_at,
                           rung.summary, provisional=rung.provisional)
        self._changed = True
        # An extension or a reassignment restarted the ladder while this rung was being
        # recorded: the rung belongs to the old round, not to the new one.
        return generation == self._ladder.generation or not workflow.patched(LADDER_GENERATION_PATCH)

    async def _record(
        self, key: str, step: str, level: int, planned_at: str, summary: str, *, provisional: bool = False
    ) -> None:
        """Record a fired rung (or reminder) in evaluation, once per key; under
        STATE_WITH_RECORD with the state the rung leaves (the caller raises the level to
        ``level`` once it is recorded)."""
        state = self._state(level=max(self._ladder.level, level)) if self._state_with_record else None
        await self._ladder.record(
            key, step=step, level=level, planned_at=planned_at, summary=summary, provisional=provisional,
            activity_summary="进展报告催报 (progress report missing)" if step == "progress_missing" else None,
            state=state,
        )
        if state is not None:
            self._synced = state

    async def _replan(self) -> None:
        if await self._ladder.replan("plan_follow_up", summary=f"plan the ladder from due {self._ladder.due_at}",
                                     progress_since=lambda: self._last_progress_at):
            self._changed = True  # a due date on a day off moved: evaluation hears of it on the next turn
        self._publish()

    async def _reopen(self) -> None:
        """不满意: handle again with a new due date, or past the allowed reopenings,
        straight to the top of the ladder."""
        rated_at = self._reopen_rated_at
        assert rated_at is not None
        self._reopen_rated_at = None
        decision = await self._step(
            "decide_reopen",
            FollowUpActivities.decide_reopen,
            lambda: ReopenRequest(
                commitment_id=self._in.commitment_id,
                reopenings_so_far=self._reopenings,
                rated_at=rated_at,
                policy=self._in.policy,
            ),
            summary="不满意: decide the reopening",
            legacy=_ACTIVITY,
        )
        self._stage = FollowUpStage.OPEN
        self._completed_at = None
        self._awaiting_solved = False  # handled again: the department replies afresh
        if decision.action == "reopen":
            self._reopenings += 1
            self._ladder.restart(decision.new_due_at)
        else:
            # Straight to the top: a new generation, standing where it stood until the
            # top rung is recorded (the plan, made first, publishes that level).
            self._ladder.restart(decision.new_due_at, level=self._ladder.level)
            await self._replan()
            assert self._ladder.plan is not None
            top = max(self._ladder.plan.steps, key=lambda s: s.level)
            await self._record(f"g{self._ladder.generation}-unsatisfied-top", top.name, top.level, rated_at,
                               decision.summary)
            self._ladder.level = top.level
        self._changed = True

    # ------------------------------------------------------------------ actions
    @workflow.update
    def apply_action(self, action: FollowUpAction) -> FollowUpStatus:
        if action.action_id <= self._last_action_id:
            return self.status()  # delivered before (a redelivery after a crash)
        self._last_action_id = action.action_id
        if action.kind == "progress_report":
            self._last_progress_at = action.at
            self._ladder.plan = None  # the cadence counts from this report
        elif action.kind == "extension_granted":
            assert action.new_due_at is not None
            self._ladder.restart(action.new_due_at)  # from the new due date
        elif action.kind == "completion":
            self._stage = FollowUpStage.COMPLETED
            self._completed_at = action.at
        elif action.kind == "verification":
            self._stage = FollowUpStage.VERIFIED if action.passed else FollowUpStage.OPEN
            if not action.passed:
                self._completed_at = None
        elif action.kind in HANDLING_KINDS:
            workflow.patched(HANDLING_PATCH)  # marks histories that carry issue 13's actions
            self._apply_handling(action)
        elif action.kind == "satisfaction":
            self._satisfaction = action.rating
            if action.rating == "unsatisfied":
                self._reopen_rated_at = action.at
            else:
                self._stage = FollowUpStage.CLOSED
                self._closed_at = action.at
        self._changed = True
        return self.status()

    def _apply_handling(self, action: FollowUpAction) -> None:
        if action.kind == "reply":
            self._reply_class = action.reply_class
            if action.reply_class == "B":
                # 正在解决: the follow-up stays open (the ladder keeps the due date); the
                # reply counts as a progress report, and the department answers again.
                self._awaiting_solved = True
                self._last_progress_at = action.at
                self._ladder.plan = None
            else:
                # A 已解决, C 列入计划, D 留作参考: the answer is given; verification follows.
                self._awaiting_solved = False
                self._stage = FollowUpStage.COMPLETED
                self._completed_at = action.at
        elif action.kind == "reassign":
            # 交办异议 upheld: the timers move to the new lead department, the ladder
            # restarts from the due date in force (or the one the office gave).
            assert action.department is not None
            self._department = action.department
            self._ladder.restart(action.new_due_at)

    @apply_action.validator
    def _validate_action(self, action: FollowUpAction) -> None:
        if action.action_id <= self._last_action_id:
            return
        expected = {
            "progress_report": FollowUpStage.OPEN,
            "extension_granted": FollowUpStage.OPEN,
            "completion": FollowUpStage.OPEN,
            "verification": FollowUpStage.COMPLETED,
            "satisfaction": FollowUpStage.VERIFIED,
            "reply": FollowUpStage.OPEN,
            "reassign": FollowUpStage.OPEN,
        }
        if action.kind not in expected:
            raise ValueError(f"unknown action kind '{action.kind}'")
        if self._reopen_rated_at is not None or self._stage != expected[action.kind]:
            raise ValueError(
                f"{action.kind} does not fit the commitment's stage '{self._stage}' "
                f"(it needs '{expected[action.kind]}')"
            )
        if action.kind == "extension_granted":
            if not action.new_due_at or instant(action.new_due_at) <= instant(self._ladder.due_at):
                raise ValueError(f"an extension must move the due date later than {self._ladder.due_at}")
        if action.kind == "reply":
            if action.reply_class not in REPLY_CLASSES:
                raise ValueError(f"reply_class must be one of {', '.join(REPLY_CLASSES)}")
            if self._awaiting_solved and action.reply_class not in ("A", "B"):
                raise ValueError("a B reply (正在解决) is answered again as solved (A), or with another B")
        if action.kind == "completion" and self._awaiting_solved:
            raise ValueError("a B reply (正在解决) was given: the department answers again with a reply of class A")
        if action.kind == "reassign":
            if not action.department:
                raise ValueError("a reassignment names the new lead department")
            if action.department == self._department:
                raise ValueError(f"the commitment is already assigned to {action.department}")
            if action.new_due_at and instant(action.new_due_at) <= workflow.now():
                raise ValueError("a reassignment's new due date must lie ahead")
        if action.kind == "verification" and action.passed is None:
            raise ValueError("a verification must say whether it passed")
        if action.kind == "satisfaction" and action.rating not in RATINGS:
            raise ValueError(f"rating must be one of {', '.join(RATINGS)}")

    # ------------------------------------------------------------------ needs attention
    @workflow.update
    def resume(self, request: ResumeRequest) -> FollowUpStatus:
        """Staff fixed the cause (待处理 → resumed): the failed step runs again."""
        self._resume(request)
        return self.status()

    @resume.validator
    def _validate_resume_follow_up(self, request: ResumeRequest) -> None:
        self._validate_resume()

    async def _notify_attention(self, attention: Attention) -> None:
        """One notice per episode to the office and the department, through the
        consultation worker's ``send_notice`` activity (evaluation's outbox)."""
        await workflow.execute_activity(
            "send_notice",
            NoticeRequest(
                idempotency_key=f"commitment-{self._in.commitment_id}-g{self._ladder.generation}"
                                f"-needs-attention-{attention.episode}",
                kind="follow_up.needs_attention",
                recipients=["office:cppcc", f"department:{self._department}"],
                payload={"commitment_id": self._in.commitment_id, "stage": self._stage, "step": attention.step,
                         "reason": attention.reason},
            ),
            summary=f"notice: needs attention at {attention.step}",
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10),
        )

    def _attention_changed(self) -> None:
        self._publish()

    @workflow.signal
    def calendar_changed(self) -> None:
        """Staff loaded an official schedule: provisional deadlines are recomputed."""
        plan = self._ladder.plan
        if plan is not None and (plan.provisional or plan.progress_provisional):
            self._ladder.plan = None
            self._changed = True

    @workflow.query
    def status(self) -> FollowUpStatus:
        step = self._ladder.next_rung() if self._stage == FollowUpStage.OPEN else None
        return FollowUpStatus(
            commitment_id=self._in.commitment_id,
            stage=self._stage,
            due_at=self._ladder.due_at,
            level=self._ladder.level,
            generation=self._ladder.generation,
            reopenings=self._reopenings,
            fired=list(self._ladder.fired),
            next_step=step.name if step else None,
            next_fire_at=step.fire_at if step else None,
            provisional=self._provisional(),
            needs_attention=self._attention,
            department=self._department,
            reply_class=self._reply_class,
            awaiting_solved=self._awaiting_solved,
        )

    # ------------------------------------------------------------------ visibility
    def _publish(self) -> None:
        overdue = self._stage == FollowUpStage.OPEN and workflow.now() > instant(self._ladder.due_at)
        upsert_search_attributes(
            [
                CONSULTATION_STAGE.value_set(self._stage),
                DEPARTMENT.value_set(self._department),
                *self._ladder.search_attributes(),
                OVERDUE.value_set(overdue),
                DEADLINE_PROVISIONAL.value_set(self._provisional()),
            ]
        )
        step = self._ladder.next_rung() if self._stage == FollowUpStage.OPEN else None
        lines = [
            f"**承诺 #{self._in.commitment_id}** · {self._department}",
            f"- stage: {self._stage}; escalation level: {self._ladder.level}; reopenings: {self._reopenings}",
            f"- due: {self._ladder.due_at}" + (" (provisional)" if self._provisional() else ""),
            f"- fired this round: {', '.join(self._ladder.fired) or 'none'}",
            f"- next: {step.summary if step else 'nothing scheduled'}",
        ]
        attention = getattr(self, "_attention", None)
        if attention is not None:
            lines.insert(1, f"- **待处理 needs attention** at {attention.step}: {attention.reason}")
        workflow.set_current_details("\n".join(lines))

    def _provisional(self) -> bool:
        """The due date or a rung rests on a year whose official schedule is unknown."""
        return bool(self._ladder.plan and self._ladder.plan.provisional)

    def _state(self, *, level: int | None = None) -> CommitmentState:
        ladder = self._ladder
        level = ladder.level if level is None else level
        state = CommitmentState(
            commitment_id=self._in.commitment_id,
            state_key=f"{self._stage}:{level}:{ladder.generation}:{self._reopenings}:{ladder.due_at}",
            status=self._stage,
            escalation_level=level,
            due_at=ladder.due_at,
            reopenings=self._reopenings,
            completed_at=self._completed_at,
            closed_at=self._closed_at,
            satisfaction=self._satisfaction,
        )
        if self._reply_class is not None or self._department != self._in.department:
            # Only runs with issue 13's actions carry these (saved histories replay unchanged).
            state.department = self._department
            state.reply_class = self._reply_class
            # The key travels as an Idempotency-Key header (ASCII): a reassignment shows in
            # the generation already, so the department's name need not be in it.
            state.state_key += f":reply-{self._reply_class or 'none'}"
        return state

    async def _sync_state(self) -> None:
        state = self._state()
        if self._state_with_record and state == self._synced:
            return  # evaluation has this state already (a rung's record carried it)
        await self._step("sync_commitment_state", FollowUpActivities.sync_commitment_state, lambda: state,
                         summary=f"evaluation: stage {self._stage}", legacy=_ACTIVITY)
        if self._state_with_record:
            self._synced = state

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > self._in.history_limit

    def _carry(self) -> FollowUpInput:
        return FollowUpInput(
            commitment_id=self._in.commitment_id,
            department=self._in.department,
            policy=self._in.policy,
            started_at=self._in.started_at,
            stage=self._stage,
            reopenings=self._reopenings,
            **self._ladder.carried(),
            last_progress_at=self._last_progress_at,
            last_action_id=self._last_action_id,
            completed_at=self._completed_at,
            history_limit=self._in.history_limit,
            consultation_topic_id=self._in.consultation_topic_id,
            current_department=self._department if self._department != self._in.department else None,
            reply_class=self._reply_class,
            awaiting_solved=self._awaiting_solved,
        )
