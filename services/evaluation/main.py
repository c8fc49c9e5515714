"""Evaluation service (评价): commitments, follow-up records and the two-way evaluation.

    uvicorn services.evaluation.main:app --port 8003 --no-proxy-headers
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.service_app import create_service_app, recovery_loop

from .base import Base
from .calendar.views import router as calendar_router
from .commitments import service as commitments
from .commitments.views import router as commitments_router
from .events.views import router as events_router
from .handling import service as handling
from .handling.views import router as handling_router
from .notifications.delivery import deliver_notifications
from .notifications.metrics import refresh_outbox_gauges
from .notifications.views import router as notifications_router
from .public.views import router as public_router
from .ratings.views import router as ratings_router
from .scorecards.views import router as scorecards_router


async def deliver_pending_follow_ups(app: FastAPI, session: AsyncSession, temporal: Client) -> int:
    """Start follow-ups and deliver actions that a crash or an outage left behind."""
    return await commitments.deliver_pending(session, temporal, app.state.settings)


async def deliver_pending_handling(app: FastAPI, session: AsyncSession, temporal: Client) -> int:
    """Opinions and co-handler reassignments left pending; disclosure reviews past due."""
    return await handling.deliver_pending_handling(session, temporal, app.state.settings)


app = create_service_app(
    "evaluation",
    metadata=Base.metadata,
    title="Xieshang evaluation (协商 · 评价)",
    description="Commitments (承诺), their follow-up (督办) and the two-way evaluation (双向评价).",
    routers=[commitments_router, ratings_router, scorecards_router, notifications_router, calendar_router, events_router,
             handling_router, public_router],
    background=[recovery_loop("commitments", deliver_pending_follow_ups),
                recovery_loop("handling", deliver_pending_handling), deliver_notifications],
    metric_refreshers=[refresh_outbox_gauges],
)
