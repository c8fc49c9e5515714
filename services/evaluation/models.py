"""Every evaluation model, imported so Alembic sees the whole schema."""

from __future__ import annotations

from .base import Base
from .commitments.models import Commitment, CommitmentAction, EscalationEvent, OfficialScheduleRecord
from .events.models import ConsultationEvent

__all__ = [
    "Base",
    "Commitment",
    "CommitmentAction",
    "ConsultationEvent",
    "EscalationEvent",
    "OfficialScheduleRecord",
]
