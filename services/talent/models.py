"""Every talent model, imported so Alembic sees the whole schema."""

from __future__ import annotations

from .base import AUDIT_HEAD, AUDIT_LOG, IDEMPOTENCY_KEYS, Base
from .draws.models import Draw
from .people.models import PeopleImport, Person

__all__ = ["AUDIT_HEAD", "AUDIT_LOG", "IDEMPOTENCY_KEYS", "Base", "Draw", "PeopleImport", "Person"]
