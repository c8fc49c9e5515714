"""Topic logic: store first, then start the topic's ConsultationWorkflow.

The topic is committed before Temporal is called, so nothing accepted is lost: if the
process dies (or Temporal is down) in between, ``start_pending_workflows`` finds the
topic without a workflow and starts it. Starting is idempotent by workflow id.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from services.common.auth import Principal
from services.common.pagination import keyset_page
from services.common.problems import Problem
from services.common.settings import Settings
from workflows.consultation import (
    ConsultationInput,
    ConsultationStatus,
    ConsultationWorkflow,
    Stage,
    consultation_workflow_id,
)
from workflows.search_attributes import CONSULTATION_STAGE, TOPIC_CHANNEL

from .models import Topic
from .schemas import TopicCreate, TopicPage, TopicRead

log = structlog.get_logger()

PENDING = "pending"


async def register_topic(
    session: AsyncSession, temporal: Client | None, settings: Settings, data: TopicCreate, principal: Principal
) -> Topic:
    topic = Topic(title=data.title, content=data.content, channel=data.channel.value, registered_by=principal.subject)
    session.add(topic)
    await session.commit()
    log.info("topic.registered", topic_id=topic.id, channel=topic.channel)
    if temporal is not None:
        await start_consultation(session, temporal, settings, topic)
    return topic


async def start_consultation(session: AsyncSession, temporal: Client, settings: Settings, topic: Topic) -> bool:
    """Start the topic's workflow unless it runs already; True when it is known to run."""
    try:
        await temporal.start_workflow(
            ConsultationWorkflow.run,
            ConsultationInput(topic_id=topic.id, channel=topic.channel),
            id=consultation_workflow_id(topic.id),
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(CONSULTATION_STAGE, Stage.SUBMITTED),
                    SearchAttributePair(TOPIC_CHANNEL, topic.channel),
                ]
            ),
            static_summary=f"议题 #{topic.id}: {topic.title}",
            # Fail fast when Temporal is down: the topic is stored and the reconciler starts it.
            rpc_timeout=timedelta(seconds=5),
        )
    except WorkflowAlreadyStartedError:
        pass  # a closed run with this id exists: it was started before
    except RPCError as exc:
        log.warning("topic.workflow_start_deferred", topic_id=topic.id, error=type(exc).__name__)
        return False
    topic.workflow_started_at = datetime.now(timezone.utc)
    await session.commit()
    return True


async def start_pending_workflows(session: AsyncSession, temporal: Client, settings: Settings, *, older_than: timedelta) -> int:
    cutoff = datetime.now(timezone.utc) - older_than
    pending = (
        await session.scalars(
            select(Topic).where(Topic.workflow_started_at.is_(None), Topic.created_at <= cutoff).order_by(Topic.id).limit(100)
        )
    ).all()
    started = 0
    for topic in pending:
        started += await start_consultation(session, temporal, settings, topic)
    return started


async def get_topic(session: AsyncSession, topic_id: int) -> Topic:
    topic = await session.get(Topic, topic_id)
    if topic is None:
        raise Problem(404, "Not Found", f"No topic with id {topic_id}.")
    return topic


async def read_stage(temporal: Client | None, topic: Topic) -> str:
    """The stage as the workflow knows it: its query, else its search attribute."""
    if temporal is None or topic.workflow_started_at is None:
        return PENDING
    handle = temporal.get_workflow_handle(consultation_workflow_id(topic.id))
    try:
        status = await handle.query(
            ConsultationWorkflow.status, result_type=ConsultationStatus, rpc_timeout=timedelta(seconds=3)
        )
        return status.stage
    except Exception:
        # No worker to answer the query right now: the server still has the last
        # upserted search attribute.
        try:
            description = await handle.describe()
        except RPCError:
            return PENDING
        stage = description.typed_search_attributes.get(CONSULTATION_STAGE)
        if description.status not in (None, WorkflowExecutionStatus.RUNNING) and stage is None:
            return "closed"
        return stage or PENDING


def to_read(topic: Topic, stage: str | None) -> TopicRead:
    return TopicRead(
        id=topic.id,
        title=topic.title,
        content=topic.content,
        channel=topic.channel,
        created_at=topic.created_at,
        workflow_id=consultation_workflow_id(topic.id),
        stage=stage,
    )


async def list_topics(session: AsyncSession, *, channel: str | None, after: int | None, limit: int) -> TopicPage:
    filters = [Topic.channel == channel] if channel else []
    page = await keyset_page(session, Topic, filters, after=after, limit=limit)
    # Listing reads stored data only; the live stage is on GET /topics/{id}.
    return TopicPage(items=[to_read(t, None) for t in page.rows], total=page.total, next_after=page.next_after)
