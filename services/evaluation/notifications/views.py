"""Notifications' HTTP routes (通知)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from services.common.auth import Principal, Role, allow
from services.common.db import Session
from services.common.types import Cursor, DbId

from . import service
from .models import NotificationStatus
from .schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    NotificationCreate,
    NotificationDetail,
    NotificationPage,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.post(
    "",
    response_model=NotificationDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A notification with this Idempotency-Key exists already; it is returned unchanged"},
        409: {"description": "The Idempotency-Key was used for a different notification"},
    },
    summary="Enqueue a notification for the webhooks (idempotent by Idempotency-Key)",
)
async def enqueue_notification(
    data: NotificationCreate,
    response: Response,
    session: Session,
    idempotency_key: Annotated[
        str,
        Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN,
               description="Required: the same key returns the same notification and event_id"),
    ],
    _: Annotated[Principal, Depends(allow(Role.SERVICE))],
) -> NotificationDetail:
    notification, created = await service.enqueue(session, idempotency_key, data)
    if created:
        await session.commit()
    else:
        response.status_code = status.HTTP_200_OK
    return await service.get_notification(session, notification.id)


@router.get("", response_model=NotificationPage, summary="List notifications, oldest first")
async def list_notifications(
    session: Session,
    _: Annotated[Principal, Depends(allow(Role.OPERATOR, Role.CLERK))],
    status_: Annotated[NotificationStatus | None, Query(alias="status")] = None,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    after: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    return await service.list_notifications(session, status=status_, kind=kind, after=after, limit=limit)


@router.get("/{notification_id}", response_model=NotificationDetail,
            summary="One notification with its delivery status per webhook endpoint")
async def get_notification(
    notification_id: DbId,
    session: Session,
    _: Annotated[Principal, Depends(allow(Role.OPERATOR, Role.CLERK))],
) -> NotificationDetail:
    return await service.get_notification(session, notification_id)


@router.post(
    "/{notification_id}/retry",
    response_model=NotificationDetail,
    summary="Retry failed deliveries: they become pending, due now, with a fresh budget of attempts",
)
async def retry_notification(
    notification_id: DbId,
    session: Session,
    _: Annotated[Principal, Depends(allow(Role.CLERK))],  # the operator reads, changes nothing
) -> NotificationDetail:
    return await service.retry_notification(session, notification_id)
