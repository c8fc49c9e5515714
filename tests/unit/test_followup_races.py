"""An action arriving while a rung of the ladder is being recorded (the activity in
flight): the workflow neither fails its task nor carries the old round's rung into the
round the action started (an extension restarts the ladder)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.deadlines.escalation_policy import seconds_policy
from tests.unit.test_followup_time_skipping import RecordingActivities, _activities
from tests.workflow_env import register_search_attributes, time_skipping_server_path
from workflows.followup import FollowUpWorkflow
from workflows.followup_types import FollowUpAction, FollowUpInput, FollowUpStatus


class HeldActivities(RecordingActivities):
    """Holds the first escalation record until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.recording = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, method: str, path: str, body: Any, key: str | None) -> Any:
        if path.endswith("/escalation-events") and not self.release.is_set():
            self.recording.set()
            await self.release.wait()
        return await super().send(method, path, body, key)


@pytest.fixture(scope="module")
async def env():
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=time_skipping_server_path()) as env:
        await register_search_attributes(env.client)
        yield env


async def test_an_extension_granted_while_a_rung_is_recorded_starts_a_clean_round(env: WorkflowEnvironment) -> None:
    recorder = HeldActivities()
    queue = f"q-{uuid.uuid4()}"
    start = await env.get_current_time()
    async with Worker(env.client, task_queue=queue, workflows=[FollowUpWorkflow], activities=_activities(recorder)):
        handle = await env.client.start_workflow(
            FollowUpWorkflow.run,
            # Past due already: the reminder and 催办 are due at once.
            FollowUpInput(commitment_id=1, department="教育体育局", due_at=(start - timedelta(seconds=2)).isoformat(),
                          policy=seconds_policy(1.0).model_dump(mode="json"), started_at=start.isoformat()),
            id=f"followup-race-{uuid.uuid4().hex[:6]}", task_queue=queue,
        )
        await asyncio.wait_for(recorder.recording.wait(), timeout=30)
        new_due = (start + timedelta(days=10)).isoformat()
        await handle.execute_update(FollowUpWorkflow.apply_action, FollowUpAction(
            action_id=1, kind="extension_granted", at=start.isoformat(), new_due_at=new_due))
        recorder.release.set()

        async def settled() -> FollowUpStatus:
            while True:
                status = await handle.query(FollowUpWorkflow.status, result_type=FollowUpStatus)
                if status.next_step == "reminder" and status.due_at == new_due:
                    return status
                await asyncio.sleep(0.1)

        status = await asyncio.wait_for(settled(), timeout=30)
        # The new round: nothing fired yet, level 0; the old round's reminder stays in the old round.
        assert (status.generation, status.fired, status.level) == (1, [], 0)
        # And the workflow keeps working: a progress report is accepted.
        await handle.execute_update(FollowUpWorkflow.apply_action, FollowUpAction(
            action_id=2, kind="progress_report", at=start.isoformat()))
