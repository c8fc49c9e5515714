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

from datetime import timedelta

import structlog
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from services.common.redact import follow_up_summary
from services.common.search_attributes import CONSULTATION_STAGE, DEPARTMENT, DUE_TIME
from services.common.settings import Settings
from services.common.workflow_errors import mapped
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

log = structlog.get_logger()

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
        assert self.settings is not None
        try:
            await self.temporal.start_workflow(
                FollowUpWorkflow.run,
                FollowUpInput(
                    commitment_id=commitment.id,
                    department=commitment.department,
                    due_at=commitment.due_at.isoformat(),
                    policy=commitment.policy,
                    started_at=commitment.created_at.isoformat(),
                    consultation_topic_id=commitment.consultation_topic_id,
                ),
                id=followup_workflow_id(commitment.id),
                task_queue=self.settings.temporal_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(CONSULTATION_STAGE, "open"),
                        SearchAttributePair(DEPARTMENT, commitment.department),
                        SearchAttributePair(DUE_TIME, commitment.due_at),
                    ]
                ),
                static_summary=follow_up_summary(commitment.id, commitment.department),
                rpc_timeout=START_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            pass
        except (RPCError, RPCTimeoutOrCancelledError) as exc:
            log.warning("commitment.workflow_start_deferred", commitment_id=commitment.id, error=type(exc).__name__)
            return False
        return True

    async def apply_action(self, commitment_id: int, action: FollowUpAction, *, stored: bool = True) -> None:
        """Deliver a stored action as the ``apply_action`` update, id ``action-<id>``."""
        handle = self._handle(commitment_id)
        await mapped(
            lambda: handle.execute_update(FollowUpWorkflow.apply_action, action, id=f"action-{action.action_id}",
                                          rpc_timeout=UPDATE_TIMEOUT),
            handle=handle, what=WHAT, stage_key=CONSULTATION_STAGE, stored=stored,
        )

    def _handle(self, commitment_id: int):
        return None if self.temporal is None else self.temporal.get_workflow_handle(followup_workflow_id(commitment_id))

    async def status(self, commitment_id: int) -> FollowUpStatus:
        handle = self._handle(commitment_id)
        return await mapped(
            lambda: handle.query(FollowUpWorkflow.status, result_type=FollowUpStatus, rpc_timeout=QUERY_TIMEOUT),
            handle=handle, what=WHAT, stage_key=CONSULTATION_STAGE, stored=False, will_be_delivered=False,
        )

    async def resume(self, commitment_id: int, episode: int) -> FollowUpStatus:
        """Resume a follow-up that needs attention; the update id names the episode."""
        handle = self._handle(commitment_id)
        return await mapped(
            lambda: handle.execute_update(FollowUpWorkflow.resume, ResumeRequest(), id=f"resume-{commitment_id}-{episode}",
                                          result_type=FollowUpStatus, rpc_timeout=UPDATE_TIMEOUT),
            handle=handle, what=WHAT, stage_key=CONSULTATION_STAGE, stored=False, will_be_delivered=False,
        )

    async def calendar_changed(self, workflow_id: str) -> None:
        """Tell one follow-up that an official schedule was loaded (it re-plans)."""
        assert self.temporal is not None
        handle = self.temporal.get_workflow_handle(workflow_id)
        await mapped(lambda: handle.signal(FollowUpWorkflow.calendar_changed), handle=handle, what=WHAT,
                     stage_key=CONSULTATION_STAGE, stored=True)

    # ------------------------------------------------------------ co-handling (会办)
    async def start_co_handling(self, co_handler: CoHandler, commitment: Commitment) -> bool:
        """Start a co-handler's own follow-up (idempotent by workflow id); False when
        Temporal does not answer (the reconciler starts it later)."""
        if self.temporal is None:
            return False
        assert self.settings is not None
        try:
            await self.temporal.start_workflow(
                CoHandlingWorkflow.run,
                CoHandlingInput(
                    co_handler_id=co_handler.id,
                    commitment_id=commitment.id,
                    department=co_handler.department,
                    due_at=co_handler.due_at.isoformat(),
                    policy=commitment.policy,
                ),
                id=cohandling_workflow_id(co_handler.id),
                task_queue=self.settings.temporal_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(CONSULTATION_STAGE, "open"),
                        SearchAttributePair(DEPARTMENT, co_handler.department),
                        SearchAttributePair(DUE_TIME, co_handler.due_at),
                    ]
                ),
                static_summary=f"会办 #{co_handler.id} · " + follow_up_summary(commitment.id, co_handler.department),
                rpc_timeout=START_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            pass
        except (RPCError, RPCTimeoutOrCancelledError) as exc:
            log.warning("co_handler.workflow_start_deferred", co_handler_id=co_handler.id, error=type(exc).__name__)
            return False
        return True

    def _co_handle(self, co_handler_id: int):
        return None if self.temporal is None else self.temporal.get_workflow_handle(cohandling_workflow_id(co_handler_id))

    async def opinion_delivered(self, co_handler_id: int, at: str) -> CoHandlingStatus:
        """The co-handler's stored opinion, told to its workflow (update id ``opinion-<id>``)."""
        handle = self._co_handle(co_handler_id)
        return await mapped(
            lambda: handle.execute_update(CoHandlingWorkflow.opinion_delivered, OpinionDelivered(at=at),
                                          id=f"opinion-{co_handler_id}", result_type=CoHandlingStatus,
                                          rpc_timeout=UPDATE_TIMEOUT),
            handle=handle, what="co-handling", stage_key=CONSULTATION_STAGE, stored=True,
        )

    async def reassign_co_handling(self, co_handler_id: int, change: CoReassign) -> CoHandlingStatus:
        """An upheld objection: the co-handler's ladder moves (update id ``objection-<id>``)."""
        handle = self._co_handle(co_handler_id)
        return await mapped(
            lambda: handle.execute_update(CoHandlingWorkflow.reassign, change, id=f"objection-{change.objection_id}",
                                          result_type=CoHandlingStatus, rpc_timeout=UPDATE_TIMEOUT),
            handle=handle, what="co-handling", stage_key=CONSULTATION_STAGE, stored=True,
        )

    async def co_handling_status(self, co_handler_id: int) -> CoHandlingStatus:
        handle = self._co_handle(co_handler_id)
        return await mapped(
            lambda: handle.query(CoHandlingWorkflow.status, result_type=CoHandlingStatus, rpc_timeout=QUERY_TIMEOUT),
            handle=handle, what="co-handling", stage_key=CONSULTATION_STAGE, stored=False, will_be_delivered=False,
        )

    async def provisional(self, query: str):
        assert self.temporal is not None
        async for execution in self.temporal.list_workflows(query):
            yield execution
