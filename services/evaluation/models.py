"""Every evaluation model, imported so Alembic sees the whole schema."""

from __future__ import annotations

from .base import Base
from .commitments.models import Commitment, CommitmentAction, EscalationEvent, OfficialScheduleRecord
from .events.models import ConsultationEvent
from .notifications.models import Notification, NotificationDelivery
from .ratings.models import ConsultationRating, DepartmentRating

__all__ = [
    "Base",
    "Commitment",
    "CommitmentAction",
    "ConsultationEvent",
    "ConsultationRating",
    "DepartmentRating",
    "EscalationEvent",
    "Notification",
    "NotificationDelivery",
    "OfficialScheduleRecord",
]
