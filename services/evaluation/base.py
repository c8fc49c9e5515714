"""Evaluation's declarative base: every room's models share its metadata."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
