"""Every talent model, imported so Alembic sees the whole schema."""

from __future__ import annotations

from .base import IDEMPOTENCY_KEYS, Base
from .draws.models import Draw
from .people.models import PeopleImport, Person

__all__ = ["IDEMPOTENCY_KEYS", "Base", "Draw", "PeopleImport", "Person"]
