"""Talent's declarative base: the people's and the draws' models share its metadata."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.audit import audit_tables
from services.common.db import new_metadata
from services.common.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()


# The request guard's tables (services/common/writes.py): answers to replay for an
# Idempotency-Key, and the hash-chained audit trail.
IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)
AUDIT_LOG, AUDIT_HEAD = audit_tables(Base.metadata)
