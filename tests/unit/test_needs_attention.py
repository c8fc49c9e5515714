"""No workflow ends Failed on a business error (issue 9, part 2).

For every activity of ConsultationWorkflow and of FollowUpWorkflow: the activity answers
once with what a service's 4xx becomes (``ServiceRefused``, non-retryable). The workflow
must then show "needs attention" (status, search attribute ``NeedsAttention``, a notice
to the office), wait, take the ``resume`` update, run the step again and go on to its
end: ``closed``, Completed, never Failed. Each run also replays against the code.

Plus the unknown-expertise case at workflow level (the edge refuses unknown expertise
now; here talent's vocabulary changed after the report was accepted): the draw is
refused until staff resume with an amended research report.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from workflows.activities import (
    DrawRequest,
    DrawResult,
    HandOverRequest,
    NoticeRequest,
    RecordEventInput,
    ReplacementRequest,
    TopicStage,
)
from workflows.attention import ResumeRequest
from workflows.consultation import (
    ConsultationInput,
    ConsultationWorkflow,
    DecisionInput,
)
from workflows.followup import FollowUpWorkflow
from workflows.followup_types import (
    CommitmentState,
    EscalationRecord,
    FollowUpAction,
    FollowUpClosed,
    FollowUpInput,
    FollowUpPlan,
    PlannedStepData,
    PlanRequest,
    ReopenDecision,
    ReopenRequest,
)
from workflows.lifecycle_types import (
    ConsultationTiming,
    InvitationAnswer,
    MeetingHeld,
    ResearchCompleted,
    ResumeConsultation,
)
from services.common.search_attributes import NEEDS_ATTENTION

CONSULTATION_ACTIVITIES = ["record_consultation_event", "mirror_topic_stage", "send_notice", "draw_participants",
                           "draw_replacements", "hand_over_commitments"]
FOLLOW_UP_ACTIVITIES = ["plan_follow_up", "record_escalation", "sync_commitment_state", "decide_reopen"]


class Fakes:
    """Activities that succeed, except ``failing``, which a service refuses once (or,
    for ``refuse_expertise``, as long as the draw asks for it)."""

    def __init__(self, failing: str | None = None, refuse_expertise: str | None = None) -> None:
        self.failing = failing
        self.refuse_expertise = refuse_expertise
        self.failed = 0
        self.notices: list[NoticeRequest] = []
        self.next_person = 100

    def refuse(self, name: str) -> None:
        if name == self.failing and not self.failed:
            self.failed += 1
            raise ApplicationError(f"talent answered 422: {name} refused (test)", type="ServiceRefused", non_retryable=True)

    def people(self, n: int) -> list[int]:
        self.next_person += n
        return list(range(self.next_person - n, self.next_person))

    def activities(self) -> list:
        fakes = self

        @activity.defn(name="record_consultation_event")
        async def record(params: RecordEventInput) -> int:
            fakes.refuse("record_consultation_event")
            return 1

        @activity.defn(name="mirror_topic_stage")
        async def mirror(params: TopicStage) -> None:
            fakes.refuse("mirror_topic_stage")

        @activity.defn(name="send_notice")
        async def notice(params: NoticeRequest) -> None:
            if not params.kind.endswith("needs_attention"):
                fakes.refuse("send_notice")
            fakes.notices.append(params)

        @activity.defn(name="draw_participants")
        async def draw(params: DrawRequest) -> DrawResult:
            fakes.refuse("draw_participants")
            if fakes.refuse_expertise and fakes.refuse_expertise in params.expertise:
                raise ApplicationError(f"expertise: '{fakes.refuse_expertise}' is not in talent's vocabulary",
                                       type="ServiceRefused", non_retryable=True)
            panel = fakes.people(3)
            return DrawResult(draw_id=1, round=0, panel=panel, drawn=panel)

        @activity.defn(name="draw_replacements")
        async def replace(params: ReplacementRequest) -> DrawResult:
            fakes.refuse("draw_replacements")
            drawn = fakes.people(len(params.declined))
            return DrawResult(draw_id=params.round + 1, round=params.round, panel=drawn, drawn=drawn)

        @activity.defn(name="hand_over_commitments")
        async def hand_over(params: HandOverRequest) -> list[int]:
            fakes.refuse("hand_over_commitments")
            return [501]

        @activity.defn(name="plan_follow_up")
        async def plan(params: PlanRequest) -> FollowUpPlan:
            fakes.refuse("plan_follow_up")
            now = datetime.now(UTC)
            return FollowUpPlan(
                due_at=params.due_at,
                steps=[PlannedStepData(name="reminder", level=0, fire_at=(now + timedelta(seconds=1)).isoformat(),
                                       summary="到期提醒")],
                next_progress_due=(now + timedelta(days=30)).isoformat(), next_progress_summary="进展报告",
                provisional=False,
            )

        @activity.defn(name="record_escalation")
        async def escalate(params: EscalationRecord) -> int:
            fakes.refuse("record_escalation")
            return 1

        @activity.defn(name="sync_commitment_state")
        async def sync(params: CommitmentState) -> None:
            fakes.refuse("sync_commitment_state")

        @activity.defn(name="decide_reopen")
        async def reopen(params: ReopenRequest) -> ReopenDecision:
            fakes.refuse("decide_reopen")
            return ReopenDecision(action="reopen", new_due_at=(datetime.now(UTC) + timedelta(days=60)).isoformat(),
                                  summary="重新办理")

        return [record, mirror, notice, draw, replace, hand_over, plan, escalate, sync, reopen]


async def resume_if_waiting(handle: WorkflowHandle, status, seen: list[str], arg) -> bool:
    if status.needs_attention is None:
        return False
    description = await handle.describe()
    seen.append(status.needs_attention.step)
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.typed_search_attributes.get(NEEDS_ATTENTION) == status.needs_attention.step
    try:
        await handle.execute_update("resume", arg)
    except WorkflowUpdateFailedError:
        pass  # resumed already (a poll raced the update)
    return True


async def drive_consultation(client: Client, queue: str, fakes: Fakes, *, research: ResearchCompleted,
                             amended: ResearchCompleted | None = None) -> tuple[WorkflowHandle, list[str]]:
    """Take one consultation from registration to closed, resuming whenever it waits."""
    topic_id = uuid.uuid4().int % 10**9
    timing = ConsultationTiming(seconds_per_day=1.0, research_days=3, research_reminder_days=2,
                                invitation_reply_days=60, evaluation_window_days=0.2)
    handle = await client.start_workflow(ConsultationWorkflow.run, ConsultationInput(topic_id=topic_id, channel="public_online",
                                         timing=timing), id=f"consultation-{topic_id}", task_queue=queue)
    seen: list[str] = []
    sent: set[str] = set()
    declined = False
    for _ in range(600):
        await asyncio.sleep(0.05)
        desc = await handle.describe()
        if desc.status != WorkflowExecutionStatus.RUNNING:
            break
        status = await handle.query(ConsultationWorkflow.status)
        waiting = status.needs_attention
        amend = amended if waiting is not None and waiting.step == "draw_participants" else None
        if await resume_if_waiting(handle, status, seen, ResumeConsultation(research=amend)):
            continue
        try:
            if status.stage == "submitted" and "decide" not in sent:
                await handle.execute_update(ConsultationWorkflow.decide, DecisionInput(
                    decision_id=1, outcome="accepted", format="sector_micro", organiser="liaison-studio", plan_year=2031))
                sent.add("decide")
            elif status.stage == "research" and "research" not in sent and any(
                    n.kind == "research.reminder" for n in fakes.notices):
                await handle.execute_update(ConsultationWorkflow.complete_research, research)
                sent.add("research")
            elif status.stage == "inviting":
                for invitation in status.invitations:
                    if invitation.answer == "pending":
                        accepted = declined
                        declined = True
                        await handle.execute_update(ConsultationWorkflow.answer_invitation,
                                                    InvitationAnswer(person_id=invitation.person_id, accepted=accepted))
                        break
            elif status.stage == "meeting" and "meeting" not in sent:
                await handle.execute_update(ConsultationWorkflow.meeting_held, MeetingHeld(meeting_id=9))
                sent.add("meeting")
            elif status.stage == "follow_up" and status.commitment_ids and "closed" not in sent:
                for cid in status.commitment_ids:
                    await handle.signal(ConsultationWorkflow.follow_up_closed,
                                        FollowUpClosed(commitment_id=cid, satisfaction="satisfied",
                                                       closed_at=datetime.now(UTC).isoformat()))
                sent.add("closed")
        except WorkflowUpdateFailedError:
            continue  # the stage moved under the poll; look again
    return handle, seen


@pytest.mark.parametrize("failing", CONSULTATION_ACTIVITIES)
async def test_a_refused_consultation_activity_waits_for_staff_then_closes(env: WorkflowEnvironment, failing: str) -> None:
    fakes = Fakes(failing)
    queue = f"attention-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=fakes.activities()):
        handle, seen = await drive_consultation(env.client, queue, fakes,
                                                research=ResearchCompleted(report_id=1, expertise=["学前教育"]))
        result = await handle.result()
        history = await handle.fetch_history()
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert result.stage == "closed" and result.needs_attention is None
    assert fakes.failed == 1 and seen and set(seen) == {failing}
    attention_notices = [n for n in fakes.notices if n.kind == "consultation.needs_attention"]
    if failing != "send_notice":  # the notice is the step that failed: the attribute shows it
        assert [n.payload["step"] for n in attention_notices] == [failing]
    await Replayer(workflows=[ConsultationWorkflow]).replay_workflow(history)


async def test_unknown_expertise_is_fixed_by_resuming_with_an_amended_report(env: WorkflowEnvironment) -> None:
    """Talent's vocabulary lost 水利 after the report was accepted: the draw is refused,
    the consultation waits; resumed with an amended report, it draws and closes."""
    fakes = Fakes(refuse_expertise="水利")
    queue = f"attention-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=fakes.activities()):
        handle, seen = await drive_consultation(
            env.client, queue, fakes, research=ResearchCompleted(report_id=1, expertise=["水利"]),
            amended=ResearchCompleted(report_id=2, expertise=["生态环境"]))
        result = await handle.result()
    assert result.stage == "closed" and seen == ["draw_participants"]
    notice = next(n for n in fakes.notices if n.kind == "consultation.needs_attention")
    assert notice.payload["step"] == "draw_participants" and "水利" in notice.payload["reason"]


async def test_resume_is_refused_when_nothing_waits(env: WorkflowEnvironment) -> None:
    fakes = Fakes()
    queue = f"attention-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=fakes.activities()):
        handle = await env.client.start_workflow(ConsultationWorkflow.run, ConsultationInput(topic_id=1, channel="public_online"),
                                                 id=f"consultation-{uuid.uuid4().hex}", task_queue=queue)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(ConsultationWorkflow.resume, ResumeConsultation())
        await handle.terminate("test done")


@pytest.mark.parametrize("failing", FOLLOW_UP_ACTIVITIES)
async def test_a_refused_follow_up_activity_waits_for_staff_then_closes(env: WorkflowEnvironment, failing: str) -> None:
    fakes = Fakes(failing)
    queue = f"attention-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    async with Worker(env.client, task_queue=queue, workflows=[FollowUpWorkflow], activities=fakes.activities()):
        handle = await env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(commitment_id=7, department="教育体育局", due_at=(now + timedelta(days=10)).isoformat(),
                          policy={}, started_at=now.isoformat()),
            id=f"followup-{uuid.uuid4().hex}", task_queue=queue,
        )
        seen: list[str] = []
        # unsatisfied first (reopens: decide_reopen), then satisfied: every activity runs.
        script = [("completion", {}), ("verification", {"passed": True}), ("satisfaction", {"rating": "unsatisfied"}),
                  ("completion", {}), ("verification", {"passed": True}), ("satisfaction", {"rating": "satisfied"})]
        action_id = 0
        for _ in range(400):
            await asyncio.sleep(0.05)
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
            status = await handle.query(FollowUpWorkflow.status)
            if await resume_if_waiting(handle, status, seen, ResumeRequest()):
                continue
            if not script or "reminder" not in status.fired and action_id == 0:
                continue  # let the reminder fire first (record_escalation)
            kind, extra = script[0]
            try:
                await handle.execute_update(FollowUpWorkflow.apply_action, FollowUpAction(
                    action_id=action_id + 1, kind=kind, at=datetime.now(UTC).isoformat(), **extra))
            except WorkflowUpdateFailedError:
                continue  # not yet in the stage for it (a reopening under way)
            action_id += 1
            script.pop(0)
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.stage == "closed" and result.needs_attention is None and result.reopenings == 1
    assert fakes.failed == 1 and set(seen) == {failing}
    assert [n.payload["step"] for n in fakes.notices if n.kind == "follow_up.needs_attention"] == [failing]
    await Replayer(workflows=[FollowUpWorkflow]).replay_workflow(history)
