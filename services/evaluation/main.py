"""Evaluation service (评价): commitments, follow-up records and the two-way evaluation.

    uvicorn services.evaluation.main:app --port 8003
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from services.common.problems import Problem
from services.common.service_app import create_service_app

from .calendar.views import router as calendar_router
from .commitments import service as commitments
from .commitments.views import router as commitments_router
from .events.views import router as events_router
from .notifications.delivery import deliver_notifications
from .notifications.views import router as notifications_router
from .ratings.views import router as ratings_router
from .scorecards.views import router as scorecards_router

log = structlog.get_logger()


async def deliver_pending_follow_ups(app: FastAPI) -> None:
    """Start follow-ups and deliver actions that a crash or an outage left behind."""
    while True:
        await asyncio.sleep(5)
        try:
            temporal = await app.state.temporal.client()
            async with app.state.sessions() as session:
                done = await commitments.deliver_pending(session, temporal, app.state.settings)
            if done:
                log.info("commitments.delivered_late", count=done)
        except Problem:
            continue
        except Exception as exc:  # keep the loop alive; the next round retries
            log.warning("commitments.delivery_failed", error=type(exc).__name__)


app = create_service_app(
    "evaluation",
    title="Xieshang evaluation (协商 · 评价)",
    description="Commitments (承诺), their follow-up (督办) and the two-way evaluation (双向评价).",
    routers=[commitments_router, ratings_router, scorecards_router, notifications_router, calendar_router, events_router],
    background=[deliver_pending_follow_ups, deliver_notifications],
)
