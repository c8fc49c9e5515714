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

from . import service
from .views import router

log = structlog.get_logger()


async def reconcile_workflows(app: FastAPI) -> None:
    """Start the workflow of any topic stored without one (crash or Temporal outage)."""
    while True:
        await asyncio.sleep(5)
        try:
            temporal = await app.state.temporal.client()
            async with app.state.sessions() as session:
                started = await service.start_pending_workflows(
                    session, temporal, app.state.settings, older_than=timedelta(seconds=5)
                )
            if started:
                log.info("topics.workflows_started_late", count=started)
        except Problem:
            continue  # Temporal still down; try again next round
        except Exception as exc:  # keep the loop alive; the next round retries
            log.warning("topics.reconcile_failed", error=type(exc).__name__)


app = create_service_app(
    "intake",
    title="Xieshang intake (协商 · 受理)",
    description="Topics (议题) from the seven channels, screening, the chair's decisions and the annual plan.",
    routers=[router],
    background=[reconcile_workflows],
)
