"""A co-handler's (会办单位) own ladder on the time-skipping test server: its rungs are
recorded under the co-handler's keys, a reassignment starts a new generation from the
new due date, continue-as-new carries the ladder, the opinion ends the workflow, and
every run replays against the code."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from services.common.deadlines.escalation_policy import seconds_policy
from services.common.search_attributes import DEPARTMENT, DUE_TIME, ESCALATION_LEVEL
from tests.unit.test_followup_time_skipping import (
    RecordingActivities,
    _activities,
    run_chain,
)
from tests.workflow_env import register_search_attributes, time_skipping_server_path
from workflows.activities import NoticeRequest
from workflows.attention import ResumeRequest
from workflows.cohandling import SUBMITTED, CoHandlingWorkflow
from workflows.followup_types import (
    CoHandlingInput,
    CoHandlingStatus,
    CoReassign,
    OpinionDelivered,
)

# One working day = 10 s: the reminder 100 s before the due date, 催办 10 s after it,
# 督办 100 s after it, 会议督办 200 s after it.
POLICY = seconds_policy(10.0).model_dump(mode="json")


@pytest.fixture(scope="module")
async def env():
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=time_skipping_server_path()) as env:
        await register_search_attributes(env.client)
        yield env


async def _settled(handle: WorkflowHandle, done: Callable[[CoHandlingStatus], bool]) -> CoHandlingStatus:
    """The status once the workflow has caught up (its last task may still be running)."""
    async def poll() -> CoHandlingStatus:
        while True:
            status = await handle.query(CoHandlingWorkflow.status, result_type=CoHandlingStatus)
            if done(status):
                return status
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout=30)


@asynccontextmanager
async def co_handler(env: WorkflowEnvironment, recorder: RecordingActivities, *, co_handler_id: int,
                     commitment_id: int, **extra: int) -> AsyncIterator[tuple[WorkflowHandle, datetime]]:
    """A worker and one co-handler's workflow, due 50 s from now (its reminder at once)."""
    queue = f"q-{uuid.uuid4()}"
    start = await env.get_current_time()
    async with Worker(env.client, task_queue=queue, workflows=[CoHandlingWorkflow], activities=_activities(recorder)):
        handle = await env.client.start_workflow(
            CoHandlingWorkflow.run,
            CoHandlingInput(co_handler_id=co_handler_id, commitment_id=commitment_id, department="住房和城乡建设局",
                            due_at=(start + timedelta(seconds=50)).isoformat(), policy=POLICY, **extra),
            id=f"cohandling-{commitment_id}-{co_handler_id}-{uuid.uuid4().hex[:6]}", task_queue=queue,
        )
        yield handle, start


async def test_a_co_handlers_ladder_restarts_on_reassignment_and_ends_with_the_opinion(env: WorkflowEnvironment) -> None:
    recorder = RecordingActivities()
    async with co_handler(env, recorder, co_handler_id=5, commitment_id=1, history_limit=30) as (handle, _start):
        workflow_id = handle.id
        # The reminder is due at once, 催办 at +60 s, 督办 at +150 s.
        await env.sleep(timedelta(seconds=160))
        status = await _settled(handle, lambda s: len(s.fired) == 3)
        assert (status.fired, status.level, status.next_step) == (
            ["reminder", "urge", "committee_supervision"], 2, "meeting_supervision")

        new_due = (await env.get_current_time()) + timedelta(seconds=200)
        status = await handle.execute_update(
            CoHandlingWorkflow.reassign, CoReassign(department="自然资源局", new_due_at=new_due.isoformat()))
        assert (status.generation, status.fired, status.level, status.department) == (1, [], 0, "自然资源局")

        # The new round: its reminder 100 s before the new due date, 催办 10 s after it.
        await env.sleep(timedelta(seconds=250))
        status = await _settled(handle, lambda s: len(s.fired) == 2)
        assert (status.generation, status.fired, status.level) == (1, ["reminder", "urge"], 1)
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(ESCALATION_LEVEL) == 1
        assert attributes.get(DEPARTMENT) == "自然资源局"
        assert attributes.get(DUE_TIME) == datetime.fromisoformat(status.due_at) == new_due

        status = await handle.execute_update(
            CoHandlingWorkflow.opinion_delivered, OpinionDelivered(at=(await env.get_current_time()).isoformat()))
        result = await handle.result()
        histories = await run_chain(env, workflow_id, handle.result_run_id or "")

    assert result.stage == SUBMITTED and result.next_step is None
    # Each rung once, keyed by the co-handler and the generation, and addressed to the
    # co-handler (not the lead).
    assert list(recorder.escalations) == [
        "commitment-1-co5-g0-reminder",
        "commitment-1-co5-g0-urge",
        "commitment-1-co5-g0-committee_supervision",
        "commitment-1-co5-g1-reminder",
        "commitment-1-co5-g1-urge",
    ]
    records = list(recorder.escalations.values())
    assert {r["co_handler_id"] for r in records} == {5}
    assert [r["generation"] for r in records] == [0, 0, 0, 1, 1]
    assert all(r["summary"].startswith("会办意见: ") for r in records)
    assert "state" not in records[0]  # a co-handler's record carries no commitment state
    assert recorder.states == []
    assert len(histories) >= 2, "continue-as-new should have started new runs"
    for history in histories:
        await Replayer(workflows=[CoHandlingWorkflow]).replay_workflow(history)


async def test_a_reassignment_during_a_rungs_record_leaves_the_new_round_whole(env: WorkflowEnvironment) -> None:
    """The record of the first round's reminder is held until a reassignment has started
    the second round: the held rung stays the first round's, and the second round still
    fires its own reminder (before co-ladder-generation-guard-v1 it was counted as fired)."""
    from tests.unit.test_followup_races import HeldActivities

    recorder = HeldActivities()
    async with co_handler(env, recorder, co_handler_id=3, commitment_id=2) as (handle, start):
        await asyncio.wait_for(recorder.recording.wait(), timeout=30)  # the reminder's record is held
        new_due = start + timedelta(seconds=300)
        await handle.execute_update(
            CoHandlingWorkflow.reassign, CoReassign(department="自然资源局", new_due_at=new_due.isoformat()))
        recorder.release.set()
        status = await _settled(handle, lambda s: s.generation == 1 and s.next_step == "reminder")
        assert status.fired == [] and status.level == 0
        # The second round's reminder, 100 s before the new due date.
        await env.sleep(timedelta(seconds=210))
        status = await _settled(handle, lambda s: s.fired == ["reminder"])
        await handle.execute_update(
            CoHandlingWorkflow.opinion_delivered, OpinionDelivered(at=(await env.get_current_time()).isoformat()))
        await handle.result()
        history = await handle.fetch_history()

    assert [key.rsplit("-", 1)[-1] for key in recorder.escalations] == ["reminder", "reminder"]
    assert [r["generation"] for r in recorder.escalations.values()] == [0, 1]
    await Replayer(workflows=[CoHandlingWorkflow]).replay_workflow(history)


class RefusingFirstRecord(RecordingActivities):
    """Evaluation refuses the first escalation record (a fault only staff can fix), so the
    rung waits for them; notices of that are kept."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = False
        self.notices: list[NoticeRequest] = []

    async def send(self, method: str, path: str, body: Any, key: str | None) -> Any:
        if path.endswith("/escalation-events") and not self.refused:
            self.refused = True
            raise ApplicationError("evaluation answered 422 (test)", type="ServiceRefused", non_retryable=True)
        return await super().send(method, path, body, key)


async def test_a_record_waiting_for_staff_through_a_reassignment_keeps_its_own_round(env: WorkflowEnvironment) -> None:
    """The first round's reminder is refused and waits for staff; a reassignment starts
    the second round meanwhile; staff resume. The resumed record is still the first
    round's (key and generation 0), so the second round's own reminder is recorded too:
    were the record built again on the resumed try, it would take the key ``g1-reminder``
    and the second round's reminder would be swallowed as its replay."""
    recorder = RefusingFirstRecord()

    @activity.defn(name="send_notice")
    async def send_notice(request: NoticeRequest) -> None:
        recorder.notices.append(request)

    queue = f"q-{uuid.uuid4()}"
    start = await env.get_current_time()
    async with Worker(env.client, task_queue=queue, workflows=[CoHandlingWorkflow],
                      activities=[*_activities(recorder), send_notice]):
        handle = await env.client.start_workflow(
            CoHandlingWorkflow.run,
            CoHandlingInput(co_handler_id=4, commitment_id=3, department="住房和城乡建设局",
                            due_at=(start + timedelta(seconds=50)).isoformat(), policy=POLICY),
            id=f"cohandling-3-4-{uuid.uuid4().hex[:6]}", task_queue=queue,
        )
        waiting = await _settled(handle, lambda s: s.needs_attention is not None)
        assert waiting.needs_attention.step == "record_escalation" and recorder.escalations == {}
        await handle.execute_update(
            CoHandlingWorkflow.reassign,
            CoReassign(department="自然资源局", new_due_at=(start + timedelta(seconds=300)).isoformat()))
        await handle.execute_update(CoHandlingWorkflow.resume, ResumeRequest(resumed_by="office"))
        status = await _settled(handle, lambda s: s.needs_attention is None and s.generation == 1
                                and s.next_step == "reminder")
        assert status.fired == []
        await env.sleep(timedelta(seconds=210))  # the second round's reminder, 100 s before its due date
        await _settled(handle, lambda s: s.fired == ["reminder"])
        await handle.execute_update(
            CoHandlingWorkflow.opinion_delivered, OpinionDelivered(at=(await env.get_current_time()).isoformat()))
        await handle.result()
        history = await handle.fetch_history()

    assert list(recorder.escalations) == ["commitment-3-co4-g0-reminder", "commitment-3-co4-g1-reminder"]
    assert [r["generation"] for r in recorder.escalations.values()] == [0, 1]
    assert [n.kind for n in recorder.notices] == ["co_handling.needs_attention"]
    await Replayer(workflows=[CoHandlingWorkflow]).replay_workflow(history)
