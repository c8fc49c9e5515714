"""The chair's decision as a Temporal update: the validator refuses an invalid decision
before it reaches the history; a valid one moves the stage and the search attributes;
rejected and merged consultations end; every run replays."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from services.common.search_attributes import (
    CONSULTATION_FORMAT,
    CONSULTATION_STAGE,
    ORGANISER,
    PLAN_YEAR,
)
from workflows.activities import NoticeRequest, RecordEventInput
from workflows.consultation import (
    ConsultationInput,
    ConsultationWorkflow,
    DecisionInput,
    PlanAmendment,
    decision_problem,
)

HISTORIES = Path(__file__).resolve().parents[2] / "histories"


RECORDED: list[RecordEventInput] = []


@activity.defn(name="record_consultation_event")
async def record(params: RecordEventInput) -> int:
    RECORDED.append(params)
    return 1


NOTICES: list[NoticeRequest] = []


@activity.defn(name="send_notice")
async def notice(params: NoticeRequest) -> None:
    NOTICES.append(params)


async def start(client: Client, queue: str, topic_id: int) -> WorkflowHandle:
    return await client.start_workflow(
        ConsultationWorkflow.run,
        ConsultationInput(topic_id=topic_id, channel="public_online"),
        id=f"consultation-{topic_id}-{uuid.uuid4().hex[:6]}",
        task_queue=queue,
    )


ACCEPT = DecisionInput(decision_id=11, outcome="accepted", format="special_topic", organiser="economy-committee",
                       plan_year=2031, planned_month=5)


async def test_invalid_decision_is_refused_and_changes_nothing(env: WorkflowEnvironment) -> None:
    queue = f"q-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=[record, notice]):
        handle = await start(env.client, queue, 1)
        bad = [
            DecisionInput(decision_id=1, outcome="accepted", format="special_topic", plan_year=2031),
            DecisionInput(decision_id=2, outcome="accepted", format="grand", organiser="x", plan_year=2031),
            DecisionInput(decision_id=3, outcome="merged", merged_into_topic_id=1),
            DecisionInput(decision_id=4, outcome="adjourned"),
        ]
        for decision in bad:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ConsultationWorkflow.decide, decision)
            assert str(refused.value.cause.message)  # the validator's reason reaches the caller
        status = await handle.query(ConsultationWorkflow.status)
        history = await handle.fetch_history()
    assert status.stage == "submitted"
    # Refused by the validator: no update was accepted into the history.
    assert not any(e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events)
    await Replayer(workflows=[ConsultationWorkflow]).replay_workflow(history)


async def test_accept_sets_attributes_is_idempotent_and_amendable(env: WorkflowEnvironment) -> None:
    queue = f"q-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=[record, notice]):
        handle = await start(env.client, queue, 2)
        status = await handle.execute_update(ConsultationWorkflow.decide, ACCEPT, id="decision-11")
        assert status.stage == "accepted"
        # The same decision re-sent (lost answer) answers the same; another is refused.
        assert (await handle.execute_update(ConsultationWorkflow.decide, ACCEPT)).stage in ("accepted", "research")
        with pytest.raises(WorkflowUpdateFailedError, match="update failed"):
            await handle.execute_update(ConsultationWorkflow.decide, DecisionInput(decision_id=12, outcome="rejected"))
        await handle.execute_update(
            ConsultationWorkflow.amend_plan, PlanAmendment(decision_id=11, format="standing_committee", organiser="liaison-studio", plan_year=2032)
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                ConsultationWorkflow.amend_plan, PlanAmendment(decision_id=99, format="plenary", organiser="x", plan_year=2032)
            )
        attributes = (await handle.describe()).typed_search_attributes
        history = await handle.fetch_history()
    assert attributes.get(CONSULTATION_STAGE) in ("accepted", "research")  # research follows at once
    assert attributes.get(CONSULTATION_FORMAT) == "standing_committee"
    assert attributes.get(ORGANISER) == "liaison-studio"
    assert attributes.get(PLAN_YEAR) == 2032
    await Replayer(workflows=[ConsultationWorkflow]).replay_workflow(history)
    if os.environ.get("XIESHANG_RECORD_HISTORIES"):
        (HISTORIES / "consultation_accepted_decision_event.json").write_text(history.to_json())


@pytest.mark.parametrize("decision", [
    DecisionInput(decision_id=21, outcome="rejected"),
    DecisionInput(decision_id=22, outcome="merged", merged_into_topic_id=7),
])
async def test_rejected_and_merged_consultations_end(env: WorkflowEnvironment, decision: DecisionInput) -> None:
    queue = f"q-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=[record, notice]):
        handle = await start(env.client, queue, 3)
        await handle.execute_update(ConsultationWorkflow.decide, decision)
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.stage == decision.outcome
    # The people who raised the topic are told.
    sent = [n for n in NOTICES if n.payload["topic_id"] == 3 and n.kind == f"topic.{decision.outcome}"]
    assert sent and sent[-1].recipients == ["submitters:topic-3"]
    decided = [r for r in RECORDED if r.kind == "topic_decided" and r.detail["outcome"] == decision.outcome]
    assert decided and decided[-1].event_key == "topic-3-decided"
    await Replayer(workflows=[ConsultationWorkflow]).replay_workflow(history)
    if os.environ.get("XIESHANG_RECORD_HISTORIES") and decision.outcome == "rejected":
        (HISTORIES / "consultation_rejected_decision_event.json").write_text(history.to_json())


def test_decision_rules_are_pure_and_shared() -> None:
    assert decision_problem(ACCEPT, 1) is None
    assert "organiser" in decision_problem(DecisionInput(decision_id=1, outcome="accepted", format="plenary", plan_year=2031), 1)
    assert "itself" in decision_problem(DecisionInput(decision_id=1, outcome="merged", merged_into_topic_id=5), 5)
    assert json.dumps(ACCEPT.__dict__)  # ids and vocabulary only: nothing personal to leak
