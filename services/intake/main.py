"""Intake service (受理): topics from the seven channels and what becomes of them.

    uvicorn services.intake.main:app --port 8001 --no-proxy-headers
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.codec_server import router as codec_router
from services.common.service_app import create_service_app, recovery_loop

from .base import Base
from .consultation_client import ConsultationClient
from .decisions import service as decisions
from .decisions.views import router as decisions_router
from .lifecycle import service as lifecycle
from .lifecycle.views import router as lifecycle_router
from .meetings.views import router as meetings_router
from .public.views import routers as public_routers
from .reference.views import router as reference_router
from .residents.views import router as residents_router
from .submissions.views import router as submissions_router
from .topics import service
from .topics.index import TopicIndex
from .topics.views import router as topics_router


async def reconcile_workflows(app: FastAPI, session: AsyncSession, temporal: Client) -> int:
    """Start the workflow of any topic stored without one (crash or Temporal outage), and
    re-send decisions, research reports and meetings whose delivery to the workflow had
    an unknown outcome (the delivery rule, docs/architecture.md)."""
    started = await service.start_pending_workflows(session, temporal, app.state.settings, older_than=timedelta(seconds=5))
    index = getattr(app.state, "topic_index", None) or TopicIndex()
    app.state.topic_index = index
    await service.backfill_legacy_topics(session, index)
    settled = await decisions.deliver_pending(session, temporal, index, older_than=timedelta(seconds=10))
    delivered = await lifecycle.deliver_pending(
        session, ConsultationClient(temporal, app.state.settings), older_than=timedelta(seconds=10)
    )
    return started + settled + delivered


app = create_service_app(
    "intake",
    metadata=Base.metadata,
    title="Xieshang intake (协商 · 受理)",
    description="Topics (议题) from the seven channels, screening, the chair's decisions and the annual plan.",
    routers=[topics_router, submissions_router, decisions_router, lifecycle_router, meetings_router, reference_router,
             residents_router, *public_routers, codec_router],
    background=[recovery_loop("topics", reconcile_workflows)],
)
