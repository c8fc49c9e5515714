"""The one client of ConsultationWorkflow: every start, update and query intake sends.

Routes and services never touch ``temporalio`` themselves; they call this module, whose
errors are already HTTP answers (``services/common/workflow_errors.py``):
refused → 409, ended → 409 naming the stage, Temporal down or slow → 503 with
Retry-After saying whether the record was stored and will be delivered.

The delivery rule every caller follows (docs/architecture.md, "Delivery"): the record is
committed first with ``delivery = "pending"``; then :meth:`ConsultationClient.update`
sends it with an update id derived from the record's id; accepted → the record is marked
``delivered``; refused or ended → the record is withdrawn (compensation); no answer →
it stays pending and the reconciler (``services/intake/main.py``) re-sends the same
update id until the workflow answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair
from temporalio.service import RPCError

from services.common.redact import consultation_summary
from services.common.search_attributes import CONSULTATION_STAGE, TOPIC_CHANNEL
from services.common.settings import Settings
from services.common.workflow_errors import MappedHandle, start_or_defer
from workflows.consultation import (
    ConsultationInput,
    ConsultationStatus,
    ConsultationWorkflow,
    Stage,
    consultation_workflow_id,
)
from workflows.lifecycle_types import ConsultationTiming

from .topics.models import Topic

WHAT = "consultation"
UPDATE_TIMEOUT = timedelta(seconds=10)
QUERY_TIMEOUT = timedelta(seconds=5)
START_TIMEOUT = timedelta(seconds=5)
PENDING = "pending"


def consultation_timing(settings: Settings) -> ConsultationTiming:
    production = settings.consultation_day_seconds == 86400
    return ConsultationTiming(
        seconds_per_day=settings.consultation_day_seconds,
        research_days=settings.consultation_research_days,
        invitation_reply_days=settings.consultation_invitation_reply_days,
        evaluation_window_days=settings.consultation_evaluation_window_days,
        follow_up_policy="production" if production else "seconds",
        follow_up_seconds_scale=settings.consultation_day_seconds,
        public_value_days=settings.consultation_public_value_days,
        public_value_source=settings.consultation_public_value_source,
        public_value_format=settings.consultation_public_value_format,
    )


class ConsultationClient:
    """ConsultationWorkflow as intake sees it. ``temporal`` None: Temporal could not be
    reached; every call then answers 503 (or, for a start, "deferred")."""

    def __init__(self, temporal: Client | None, settings: Settings | None = None) -> None:
        self.temporal = temporal
        self.settings = settings

    def _handle(self, topic_id: int):
        return None if self.temporal is None else self.temporal.get_workflow_handle(consultation_workflow_id(topic_id))

    def _consultation(self, topic_id: int) -> MappedHandle:
        return MappedHandle(self._handle(topic_id), WHAT, CONSULTATION_STAGE)

    # ------------------------------------------------------------------ start
    async def start(self, session: AsyncSession, topic: Topic) -> bool:
        """Start the topic's workflow unless it runs already (idempotent by workflow id);
        True when it is known to run, and then ``topic.workflow_started_at`` is committed.
        False (deferred) when Temporal is down: the topic is stored, the reconciler starts it."""
        if self.temporal is None:
            return False
        assert self.settings is not None
        started = await start_or_defer(
            self.temporal,
            ConsultationWorkflow.run,
            ConsultationInput(topic_id=topic.id, channel=topic.channel, timing=consultation_timing(self.settings)),
            workflow_id=consultation_workflow_id(topic.id),
            task_queue=self.settings.temporal_task_queue,
            search_attributes=[
                SearchAttributePair(CONSULTATION_STAGE, Stage.SUBMITTED),
                SearchAttributePair(TOPIC_CHANNEL, topic.channel),
            ],
            static_summary=consultation_summary(topic.id, topic.channel),
            timeout=START_TIMEOUT,
            deferred_event="consultation.start_deferred", topic_id=topic.id,
        )
        if not started:  # deferred to the reconciler
            return False
        topic.workflow_started_at = datetime.now(UTC)
        await session.commit()
        return True

    # ------------------------------------------------------------------ updates
    async def update(
        self, topic_id: int, update: Any, arg: Any, *, update_id: str, stored: bool,
        will_be_delivered: bool | None = None,
    ) -> ConsultationStatus:
        """Send one update (the same ``update_id`` on every attempt: a re-sent update is
        the same update). Errors are mapped; ``stored`` says whether the caller's record
        is committed, for the 503 answer."""
        return await self._consultation(topic_id).update(
            update, arg, update_id=update_id, result_type=ConsultationStatus, timeout=UPDATE_TIMEOUT, stored=stored,
            will_be_delivered=will_be_delivered,
        )

    # ------------------------------------------------------------------ queries
    async def status(self, topic_id: int) -> ConsultationStatus:
        return await self._consultation(topic_id).query(
            ConsultationWorkflow.status, result_type=ConsultationStatus, timeout=QUERY_TIMEOUT)

    async def stage(self, topic: Topic) -> str:
        """The stage as the workflow knows it: its query, else its search attribute
        (the server keeps it when no worker answers); ``pending`` before it starts."""
        handle = self._handle(topic.id)
        if handle is None or topic.workflow_started_at is None:
            return PENDING
        try:
            status = await handle.query(ConsultationWorkflow.status, result_type=ConsultationStatus,
                                        rpc_timeout=timedelta(seconds=3))
            return status.stage
        except Exception:  # noqa: BLE001 - no worker answers (timeout, query failure): read the attribute
            try:
                description = await handle.describe()
            except RPCError:
                return PENDING
            stage = description.typed_search_attributes.get(CONSULTATION_STAGE)
            if description.status not in (None, WorkflowExecutionStatus.RUNNING) and stage is None:
                return "closed"
            return stage or PENDING
