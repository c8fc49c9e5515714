"""The one client of FollowUpWorkflow: every start, update and signal evaluation sends.

Routes and services never touch ``temporalio`` themselves; errors come back already
mapped (``services/common/workflow_errors.py``): refused → 409, ended → 409 naming the
stage, Temporal down or slow → 503 with Retry-After saying whether the record was
stored and will be delivered. Commitments and actions follow the delivery rule of
docs/architecture.md: committed first (``workflow_started_at`` unset, ``outcome =
"pending"``), then started / delivered here; ``commitments.service.deliver_pending``
(the reconciler) finishes what an outage or a crash interrupted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair

from services.common.redact import follow_up_summary
from services.common.search_attributes import CONSULTATION_STAGE, DEPARTMENT, DUE_TIME
from services.common.settings import Settings
from services.common.workflow_errors import MappedHandle, start_or_defer
from workflows.attention import ResumeRequest
from workflows.cohandling import CoHandlingWorkflow
from workflows.followup import FollowUpWorkflow
from workflows.followup_types import (
    CoHandlingInput,
    CoHandlingStatus,
    CoReassign,
    FollowUpAction,
    FollowUpInput,
    FollowUpStatus,
    OpinionDelivered,
    cohandling_workflow_id,
    followup_workflow_id,
)

from .commitments.models import CoHandler, Commitment

WHAT = "follow-up"
UPDATE_TIMEOUT = timedelta(seconds=10)
START_TIMEOUT = timedelta(seconds=5)
QUERY_TIMEOUT = timedelta(seconds=5)


class FollowUpClient:
    """FollowUpWorkflow as evaluation sees it. ``temporal`` None: Temporal could not be
    reached; starts are deferred, updates answer 503."""

    def __init__(self, temporal: Client | None, settings: Settings | None = None) -> None:
        self.temporal = temporal
        self.settings = settings

    async def start(self, commitment: Commitment) -> bool:
        """Start the commitment's follow-up (idempotent by workflow id). True when it is
        known to run; False (deferred to the reconciler) when Temporal does not answer.
        The caller records ``workflow_started_at``."""
        if self.temporal is None:
            return False
        return await self._start(
            FollowUpWorkflow.run,
            FollowUpInput(
                commitment_id=commitment.id,
                department=commitment.department,
                due_at=commitment.due_at.isoformat(),
                policy=commitment.policy,
                started_at=commitment.created_at.isoformat(),
                consultation_topic_id=commitment.consultation_topic_id,
            ),
            workflow_id=followup_workflow_id(commitment.id),
            department=commitment.department, due_at=commitment.due_at,
            static_summary=follow_up_summary(commitment.id, commitment.department),
            deferred_event="commitment.workflow_start_deferred", commitment_id=commitment.id,
        )

    async def _start(
        self, run: Any, arg: Any, *, workflow_id: str, department: str, due_at: datetime, static_summary: str,
        deferred_event: str, **log_fields: object,
    ) -> bool:
        """Start a follow-up, a commitment's or a co-handler's: both are found by stage,
        department and due time (the search attributes operators filter on)."""
        assert self.temporal is not None and self.settings is not None
        return await start_or_defer(
            self.temporal, run, arg,
            workflow_id=workflow_id,
            task_queue=self.settings.temporal_task_queue,
            search_attributes=[
                SearchAttributePair(CONSULTATION_STAGE, "open"),
                SearchAttributePair(DEPARTMENT, department),
                SearchAttributePair(DUE_TIME, due_at),
            ],
            static_summary=static_summary,
            timeout=START_TIMEOUT,
            deferred_event=deferred_event, **log_fields,
        )

    def _follow_up(self, commitment_id: int) -> MappedHandle:
        return self._mapped(followup_workflow_id(commitment_id), WHAT)

    def _mapped(self, workflow_id: str, what: str) -> MappedHandle:
        handle = None if self.temporal is None else self.temporal.get_workflow_handle(workflow_id)
        return MappedHandle(handle, what, CONSULTATION_STAGE)

    async def apply_action(self, commitment_id: int, action: FollowUpAction, *, stored: bool = True) -> None:
        """Deliver a stored action as the ``apply_action`` update, id ``action-<id>``."""
        await self._follow_up(commitment_id).update(
            FollowUpWorkflow.apply_action, action, update_id=f"action-{action.action_id}", timeout=UPDATE_TIMEOUT,
            stored=stored,
        )

    async def status(self, commitment_id: int) -> FollowUpStatus:
        return await self._follow_up(commitment_id).query(
            FollowUpWorkflow.status, result_type=FollowUpStatus, timeout=QUERY_TIMEOUT)

    async def resume(self, commitment_id: int, episode: int) -> FollowUpStatus:
        """Resume a follow-up that needs attention; the update id names the episode."""
        return await self._follow_up(commitment_id).update(
            FollowUpWorkflow.resume, ResumeRequest(), update_id=f"resume-{commitment_id}-{episode}",
            result_type=FollowUpStatus, timeout=UPDATE_TIMEOUT, stored=False, will_be_delivered=False,
        )

    async def calendar_changed(self, workflow_id: str) -> None:
        """Tell one follow-up that an official schedule was loaded (it re-plans)."""
        assert self.temporal is not None
        await self._mapped(workflow_id, WHAT).signal(FollowUpWorkflow.calendar_changed, stored=True)

    # ------------------------------------------------------------ co-handling (会办)
    async def start_co_handling(self, co_handler: CoHandler, commitment: Commitment) -> bool:
        """Start a co-handler's own follow-up (idempotent by workflow id); False when
        Temporal does not answer (the reconciler starts it later)."""
        if self.temporal is None:
            return False
        return await self._start(
            CoHandlingWorkflow.run,
            CoHandlingInput(
                co_handler_id=co_handler.id,
                commitment_id=commitment.id,
                department=co_handler.department,
                due_at=co_handler.due_at.isoformat(),
                policy=commitment.policy,
            ),
            workflow_id=cohandling_workflow_id(co_handler.id),
            department=co_handler.department, due_at=co_handler.due_at,
            static_summary=f"会办 #{co_handler.id} · " + follow_up_summary(commitment.id, co_handler.department),
            deferred_event="co_handler.workflow_start_deferred", co_handler_id=co_handler.id,
        )

    def _co_handling(self, co_handler_id: int) -> MappedHandle:
        return self._mapped(cohandling_workflow_id(co_handler_id), "co-handling")

    async def opinion_delivered(self, co_handler_id: int, at: str) -> CoHandlingStatus:
        """The co-handler's stored opinion, told to its workflow (update id ``opinion-<id>``)."""
        return await self._co_handling(co_handler_id).update(
            CoHandlingWorkflow.opinion_delivered, OpinionDelivered(at=at), update_id=f"opinion-{co_handler_id}",
            result_type=CoHandlingStatus, timeout=UPDATE_TIMEOUT, stored=True,
        )

    async def reassign_co_handling(self, co_handler_id: int, change: CoReassign) -> CoHandlingStatus:
        """An upheld objection: the co-handler's ladder moves (update id ``objection-<id>``)."""
        return await self._co_handling(co_handler_id).update(
            CoHandlingWorkflow.reassign, change, update_id=f"objection-{change.objection_id}",
            result_type=CoHandlingStatus, timeout=UPDATE_TIMEOUT, stored=True,
        )

    async def co_handling_status(self, co_handler_id: int) -> CoHandlingStatus:
        return await self._co_handling(co_handler_id).query(
            CoHandlingWorkflow.status, result_type=CoHandlingStatus, timeout=QUERY_TIMEOUT)

    async def provisional(self, query: str):
        assert self.temporal is not None
        async for execution in self.temporal.list_workflows(query):
            yield execution
