"""Every intake model, imported so Alembic sees the whole schema."""

from __future__ import annotations

from .base import IDEMPOTENCY_KEYS, Base
from .decisions.models import Decision
from .lifecycle.models import ResearchReport
from .meetings.models import Meeting, MeetingAttendee, MeetingCommitment
from .reference.models import Organiser, Venue
from .residents.models import Cosign
from .submissions.models import RateCounter
from .topics.models import Submission, Topic

__all__ = [
    "IDEMPOTENCY_KEYS",
    "Base",
    "Cosign",
    "Decision",
    "Meeting",
    "MeetingAttendee",
    "MeetingCommitment",
    "Organiser",
    "RateCounter",
    "ResearchReport",
    "Submission",
    "Topic",
    "Venue",
]
