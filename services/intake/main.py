"""Intake service (受理): topics from the seven channels and what becomes of them.

    uvicorn services.intake.main:app --port 8001
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import FastAPI

from services.common.problems import Problem
from services.common.service_app import create_service_app

from .decisions import service as decisions
from .decisions.views import router as decisions_router
from .lifecycle.views import router as lifecycle_router
from .meetings.views import router as meetings_router
from .reference.views import router as reference_router
from .submissions.views import router as submissions_router
from .topics import service
from .topics.index import TopicIndex
from .topics.views import router as topics_router

log = structlog.get_logger()


async def reconcile_workflows(app: FastAPI) -> None:
    """Start the workflow of any topic stored without one (crash or Temporal outage), and
    re-send decisions whose delivery to the workflow had an unknown outcome."""
    while True:
        await asyncio.sleep(5)
        try:
            temporal = await app.state.temporal.client()
            async with app.state.sessions() as session:
                started = await service.start_pending_workflows(
                    session, temporal, app.state.settings, older_than=timedelta(seconds=5)
                )
                index = getattr(app.state, "topic_index", None) or TopicIndex()
                app.state.topic_index = index
                await service.backfill_legacy_topics(session, index)
                settled = await decisions.deliver_pending(session, temporal, index, older_than=timedelta(seconds=10))
            if started:
                log.info("topics.workflows_started_late", count=started)
            if settled:
                log.info("decisions.delivered_late", count=settled)
        except Problem:
            continue  # Temporal still down; try again next round
        except Exception as exc:  # keep the loop alive; the next round retries
            log.warning("topics.reconcile_failed", error=type(exc).__name__)


app = create_service_app(
    "intake",
    title="Xieshang intake (协商 · 受理)",
    description="Topics (议题) from the seven channels, screening, the chair's decisions and the annual plan.",
    routers=[topics_router, submissions_router, decisions_router, lifecycle_router, meetings_router, reference_router],
    background=[reconcile_workflows],
)
