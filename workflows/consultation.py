"""ConsultationWorkflow: the life of one topic (议题), id ``consultation-<topic id>``.

Walking-skeleton scope: the topic is registered (stage ``submitted``), its search
attributes are set for operators, and evaluation records that the topic was received.
Then the workflow waits for the chair's decision, which later issues add.

The workflow carries ids only; titles and texts stay in intake's database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from .activities import ConsultationActivities, RecordEventInput
    from .search_attributes import CONSULTATION_STAGE, TOPIC_CHANNEL


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


@workflow.defn
class ConsultationWorkflow:
    def __init__(self) -> None:
        self._stage = Stage.SUBMITTED
        self._topic_id = 0

    @workflow.run
    async def run(self, params: ConsultationInput) -> ConsultationStatus:
        self._topic_id = params.topic_id
        self._enter(Stage.SUBMITTED)
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
        # The chair's decision arrives as an update (intake issue); until then the
        # topic waits here, durably, without holding a worker slot.
        await workflow.wait_condition(lambda: self._stage != Stage.SUBMITTED)
        return self.status()

    @workflow.query
    def status(self) -> ConsultationStatus:
        return ConsultationStatus(topic_id=self._topic_id, stage=self._stage)

    def _enter(self, stage: str) -> None:
        self._stage = stage
        workflow.upsert_search_attributes([CONSULTATION_STAGE.value_set(stage)])
        workflow.set_current_details(f"Stage: {stage}")
