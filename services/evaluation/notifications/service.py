"""The outbox: enqueue once per idempotency key, list, read, retry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.common.db import utcnow
from services.common.pagination import keyset_page
from services.common.problems import Problem

from .models import Notification, NotificationDelivery, NotificationStatus
from .schemas import DeliveryRead, NotificationCreate, NotificationDetail, NotificationPage, NotificationRead

log = structlog.get_logger()

# uuid5 namespace of notification event ids: the same idempotency key gives the same
# event id on every replica and every database, so a re-created outbox cannot make a
# receiver act twice.
_UPSERT_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}

EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://xieshang.example/notifications")


def event_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, idempotency_key))


async def enqueue_notification(
    session: AsyncSession,
    *,
    idempotency_key: str | None,
    kind: str,
    recipients: Sequence[str],
    payload: dict[str, Any],
) -> Notification:
    """Adds a notification to the outbox in the caller's transaction (flushed, not
    committed): commit it together with the record that causes it, and it is delivered
    exactly when that record exists. A known ``idempotency_key`` returns its row.

    Raises pydantic.ValidationError for a malformed notification (e.g. contact data in the
    payload) and Problem 409 when the key was used for a different notification.
    """
    notification, _ = await enqueue(
        session,
        idempotency_key,
        NotificationCreate(kind=kind, recipients=list(recipients), payload=payload),
    )
    return notification


async def enqueue(
    session: AsyncSession, idempotency_key: str | None, data: NotificationCreate
) -> tuple[Notification, bool]:
    """Returns the notification and whether this call created it (flushed, not committed)."""
    now = utcnow()
    values: dict[str, Any] = {
        "event_id": event_id_for(idempotency_key),
        "idempotency_key": idempotency_key,
        "kind": data.kind,
        "recipients": list(data.recipients),
        "payload": data.payload,
        "created_at": now,
        "status": NotificationStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect in _UPSERT_INSERTS:
        # INSERT ... ON CONFLICT DO NOTHING RETURNING the row: a key held already (or by a
        # concurrent enqueue that committed first) makes this a no-op instead of an error,
        # so the caller's transaction stays usable (no savepoint: pysqlite's savepoints
        # would commit it). A new key, the common case (every escalation rung), costs this
        # one statement: no look-up before it, no re-read after it.
        notification = await session.scalar(
            _UPSERT_INSERTS[dialect](Notification).values(**values)
            .on_conflict_do_nothing(index_elements=[Notification.idempotency_key]).returning(Notification)
        )
        if notification is None:
            existing = await _by_key(session, idempotency_key) if idempotency_key is not None else None
            if existing is None:
                raise RuntimeError("notification insert conflicted without an existing row")
            return _same_or_conflict(existing, idempotency_key, data), False
    else:
        if idempotency_key is not None and (existing := await _by_key(session, idempotency_key)) is not None:
            return _same_or_conflict(existing, idempotency_key, data), False
        notification = Notification(**values)
        session.add(notification)
        await session.flush()
    log.info("notification.enqueued", notification_id=notification.id, event_id=notification.event_id,
             kind=notification.kind)
    return notification, True


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _same_or_conflict(existing: Notification, key: str, data: NotificationCreate) -> Notification:
    if (existing.kind, _canonical(existing.recipients), _canonical(existing.payload)) != (
        data.kind, _canonical(data.recipients), _canonical(data.payload)
    ):
        raise Problem(409, "Conflict", f"Idempotency-Key '{key}' was already used for a different notification.")
    return existing


async def _by_key(session: AsyncSession, key: str) -> Notification | None:
    return await session.scalar(select(Notification).where(Notification.idempotency_key == key))


async def list_notifications(
    session: AsyncSession, *, status: NotificationStatus | None, kind: str | None, after: int | None, limit: int
) -> NotificationPage:
    filters = []
    if status is not None:
        filters.append(Notification.status == status.value)
    if kind is not None:
        filters.append(Notification.kind == kind)
    page = await keyset_page(session, Notification, filters, after=after, limit=limit)
    return NotificationPage(
        items=[NotificationRead.model_validate(r) for r in page.rows], total=page.total, next_after=page.next_after
    )


async def get_notification(session: AsyncSession, notification_id: int) -> NotificationDetail:
    notification = await session.scalar(
        select(Notification)
        .where(Notification.id == notification_id)
        .options(selectinload(Notification.deliveries))
        .execution_options(populate_existing=True)
    )
    if notification is None:
        raise Problem(404, "Not Found", f"Notification {notification_id} does not exist.")
    return detail(notification, notification.deliveries)


def detail(notification: Notification, deliveries: Sequence[NotificationDelivery]) -> NotificationDetail:
    base = NotificationRead.model_validate(notification).model_dump()
    return NotificationDetail(
        **base,
        deliveries=[DeliveryRead.model_validate(d) for d in sorted(deliveries, key=lambda d: d.endpoint)],
    )


async def retry_notification(session: AsyncSession, notification_id: int) -> NotificationDetail:
    """Operator's retry: failed deliveries become pending, due now, with a fresh budget of
    attempts. Delivered ones are left alone, so no endpoint gets a needless re-send."""
    notification = await session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    )
    if notification is None:
        raise Problem(404, "Not Found", f"Notification {notification_id} does not exist.")
    deliveries = (
        await session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.notification_id == notification_id)
        )
    ).all()
    now = utcnow()
    reset = 0
    for delivery in deliveries:
        if delivery.status == NotificationStatus.FAILED.value:
            delivery.status = NotificationStatus.PENDING.value
            delivery.attempts = 0
            delivery.next_attempt_at = now
            reset += 1
    refresh_status(notification, deliveries)
    await session.commit()
    log.info("notification.retry", notification_id=notification_id, deliveries_reset=reset)
    return await get_notification(session, notification_id)


def refresh_status(notification: Notification, deliveries: Sequence[NotificationDelivery]) -> None:
    """The notification's status follows its deliveries: pending while any endpoint is,
    failed when some endpoint gave up, delivered when every endpoint answered 2xx."""
    if not deliveries:
        return  # not planned yet: stays pending until a webhook is configured
    pending = [d for d in deliveries if d.status == NotificationStatus.PENDING.value]
    failed = [d for d in deliveries if d.status == NotificationStatus.FAILED.value]
    if pending:
        notification.status = NotificationStatus.PENDING.value
        notification.next_attempt_at = min(
            (d.next_attempt_at for d in pending if d.next_attempt_at is not None), default=None
        )
        notification.delivered_at = None
    elif failed:
        notification.status = NotificationStatus.FAILED.value
        notification.next_attempt_at = None
        notification.delivered_at = None
    else:
        notification.status = NotificationStatus.DELIVERED.value
        notification.next_attempt_at = None
        times: list[datetime] = [d.delivered_at for d in deliveries if d.delivered_at is not None]
        notification.delivered_at = max(times) if times else None
