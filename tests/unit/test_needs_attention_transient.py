"""Transient errors are retried on a bounded schedule, never forever (issue 9): a service
that stays down past it (≈15 minutes, skipped here by the time-skipping test server)
moves the consultation to needs attention, the reason saying the retries ran out; once
the service is back, staff resume and the consultation goes on."""

from __future__ import annotations

import uuid

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflow_env import register_search_attributes, time_skipping_server_path
from workflows.activities import NoticeRequest, RecordEventInput
from workflows.attention import BOUNDED
from workflows.consultation import ConsultationInput, ConsultationWorkflow
from workflows.lifecycle_types import ResumeConsultation


@pytest.fixture(scope="module")
async def env():
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=time_skipping_server_path()) as env:
        await register_search_attributes(env.client)
        yield env


async def test_a_service_down_too_long_ends_in_needs_attention_not_in_endless_retries(env: WorkflowEnvironment) -> None:
    service = {"up": False, "attempts": 0}
    notices: list[NoticeRequest] = []

    @activity.defn(name="record_consultation_event")
    async def record(params: RecordEventInput) -> int:
        service["attempts"] += 1
        if not service["up"]:
            raise RuntimeError("evaluation unreachable")  # retryable
        return 1

    @activity.defn(name="send_notice")
    async def notice(params: NoticeRequest) -> None:
        notices.append(params)

    queue = f"transient-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=[record, notice]):
        handle = await env.client.start_workflow(ConsultationWorkflow.run, ConsultationInput(topic_id=3, channel="public_online"),
                                                 id=f"consultation-{uuid.uuid4().hex}", task_queue=queue)
        status = None
        for _ in range(200):
            await env.sleep(60)  # skip ahead through the retry back-off
            status = await handle.query(ConsultationWorkflow.status)
            if status.needs_attention is not None:
                break
        assert status is not None and status.needs_attention is not None
        assert service["attempts"] == BOUNDED["retry_policy"].maximum_attempts  # bounded: then it stopped
        attention = status.needs_attention
        assert attention.step == "record_consultation_event" and "maximum_attempts" in attention.reason
        assert [n.payload["step"] for n in notices] == ["record_consultation_event"]

        service["up"] = True  # the service is back; staff resume
        await handle.execute_update(ConsultationWorkflow.resume, ResumeConsultation())
        for _ in range(50):
            await env.sleep(1)
            status = await handle.query(ConsultationWorkflow.status)
            if status.needs_attention is None and service["attempts"] > BOUNDED["retry_policy"].maximum_attempts:
                break
        assert status.needs_attention is None and status.stage == "submitted"
        await handle.terminate("test done")
