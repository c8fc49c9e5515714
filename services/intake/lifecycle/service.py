"""Staff actions after the chair's decision, delivered to ConsultationWorkflow as
updates. The update runs before the transaction commits: when the workflow's validator
refuses (the action does not fit the stage) the transaction is rolled back and nothing
is stored; when Temporal cannot be reached the action is refused with 503 and nothing is
stored either, so the clerk simply retries."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from services.common.problems import Problem
from workflows.consultation import ConsultationStatus, ConsultationWorkflow, consultation_workflow_id

from ..topics.models import Topic
from .schemas import ConsultationRead

log = structlog.get_logger()

UPDATE_TIMEOUT = timedelta(seconds=15)


async def send_update(
    session: AsyncSession, temporal: Client | None, topic: Topic, update: Any, arg: Any, *, update_id: str
) -> ConsultationStatus:
    """Deliver a staff action; commit the session only if the workflow accepts it."""
    topic_id = topic.id  # read before any rollback expires the row
    if temporal is None:
        await session.rollback()
        raise Problem(503, "Temporal unavailable", "The consultation cannot be reached; retry shortly.")
    handle = temporal.get_workflow_handle(consultation_workflow_id(topic_id))
    try:
        status = await handle.execute_update(
            update, arg, id=update_id, result_type=ConsultationStatus, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as exc:
        await session.rollback()
        message = str(exc.cause.message if hasattr(exc.cause, "message") else exc.cause)
        raise Problem(409, "Action refused", f"The consultation refused it: {message}.") from exc
    except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        await session.rollback()
        log.warning("consultation.update_failed", topic_id=topic_id, error=type(exc).__name__)
        raise Problem(503, "Temporal unavailable", "The consultation did not answer; retry shortly.") from exc
    # The stored stage is the workflow's to set (mirror_topic_stage): set here as well,
    # a slow commit could overwrite a later stage with this one.
    await session.commit()
    return status


LIFECYCLE_STAGES = ("research", "drawing", "inviting", "meeting", "follow_up", "evaluation", "closed")


async def mirror_stage(session: AsyncSession, topic: Topic, stage: str) -> None:
    topic.stage = stage
    await session.commit()


async def consultation_status(temporal: Client | None, topic_id: int) -> ConsultationRead:
    if temporal is None:
        raise Problem(503, "Temporal unavailable", "The consultation cannot be reached; retry shortly.")
    handle = temporal.get_workflow_handle(consultation_workflow_id(topic_id))
    try:
        status = await handle.query(ConsultationWorkflow.status, result_type=ConsultationStatus,
                                    rpc_timeout=timedelta(seconds=5))
    except RPCError as exc:
        raise Problem(503, "Temporal unavailable", "The consultation did not answer; retry shortly.") from exc
    return ConsultationRead.model_validate({**asdict(status), "invitations": [asdict(i) for i in status.invitations]})
