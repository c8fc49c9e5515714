"""Talent's declarative base: the people's and the draws' models share its metadata."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.db import new_metadata
from services.common.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()


# Answers of POST requests sent with an Idempotency-Key (services/common/idempotency.py).
IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)
