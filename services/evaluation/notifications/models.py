"""The outbox: one Notification per event, one NotificationDelivery per (notification,
configured webhook endpoint), so an endpoint that is down never causes a re-send to the
others."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.db import UTCDateTime, utcnow

from ..base import Base

LAST_ERROR_MAX = 500


class NotificationStatus(str, enum.Enum):
    PENDING = "pending"  # some endpoint has not answered 2xx yet and still has attempts left
    DELIVERED = "delivered"  # every endpoint answered 2xx
    FAILED = "failed"  # some endpoint used up its attempts (an operator may retry it)


class Notification(Base):
    """Something to tell people (ids and vocabulary values only, never contact data)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What receivers deduplicate on; uuid5 of the idempotency key when there is one.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    # The caller's idempotency key: a second enqueue with it returns this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    # e.g. ["department:教育体育局", "committee:教科卫体委"]: ids and roles, no phone numbers.
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING.value, index=True)
    # Delivery attempts over all endpoints (monotonic, also across operator retries).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Earliest next attempt of any pending endpoint; null when nothing is pending.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the delivery loop created the per-endpoint rows (null: not yet, e.g. because
    # no webhook was configured; they are created as soon as one is).
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    deliveries: Mapped[list[NotificationDelivery]] = relationship(
        back_populates="notification", order_by="NotificationDelivery.endpoint", lazy="raise"
    )

    __table_args__ = (Index("ix_notifications_unplanned", "planned_at", "id"),)


class NotificationDelivery(Base):
    """Delivery of one notification to one configured endpoint (by its name)."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    # The endpoint's configured name, not its URL: URLs of chat robots carry tokens.
    endpoint: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING.value)
    # Attempts since creation or since the last operator retry.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due time while pending; while an attempt is in flight, the end of its lease.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notification: Mapped[Notification] = relationship(back_populates="deliveries", lazy="raise")

    __table_args__ = (
        UniqueConstraint("notification_id", "endpoint", name="uq_notification_deliveries_notification_endpoint"),
        # The delivery loop's query: pending rows by due time.
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )
