"""Ratings are records: stored once per Idempotency-Key."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import insert_once

from .models import ConsultationRating, DepartmentRating

Rating = TypeVar("Rating", ConsultationRating, DepartmentRating)


async def record_rating(
    session: AsyncSession, model: type[Rating], values: dict, principal: Principal, idempotency_key: str | None
) -> tuple[Rating, bool]:
    rating = model(**values, rated_by=principal.subject, idempotency_key=idempotency_key)
    return await insert_once(session, rating, model.idempotency_key, idempotency_key)
