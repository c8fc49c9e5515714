"""The outbox's gauges for ``/metrics``: how many notifications wait, and for how long.

Read just before each scrape (two indexed queries over ``notifications.status``), so
the figures are as fresh as the scrape and cost nothing between scrapes.
"""

from __future__ import annotations

from datetime import UTC

from fastapi import FastAPI
from sqlalchemy import func, select

from services.common.db import utcnow
from services.common.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

from .models import Notification, NotificationStatus


async def refresh_outbox_gauges(app: FastAPI) -> None:
    async with app.state.sessions() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(Notification.created_at)).where(
                    Notification.status == NotificationStatus.PENDING.value
                )
            )
        ).one()
    OUTBOX_BACKLOG.labels("evaluation").set(count)
    age = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        age = max(0.0, (utcnow() - oldest).total_seconds())
    OUTBOX_OLDEST_AGE.labels("evaluation").set(age)
