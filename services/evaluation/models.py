"""Every evaluation model, imported so Alembic sees the whole schema."""

from __future__ import annotations

from .base import Base
from .commitments.models import (
    AssignmentObjection,
    CoHandler,
    Commitment,
    CommitmentAction,
    CommitmentReply,
    EscalationEvent,
    OfficialScheduleRecord,
)
from .events.models import ConsultationEvent
from .notifications.models import Notification, NotificationDelivery
from .ratings.models import ConsultationRating, DepartmentRating

__all__ = [
    "Base",
    "Commitment",
    "AssignmentObjection",
    "CoHandler",
    "CommitmentAction",
    "CommitmentReply",
    "ConsultationEvent",
    "ConsultationRating",
    "DepartmentRating",
    "EscalationEvent",
    "Notification",
    "NotificationDelivery",
    "OfficialScheduleRecord",
]
