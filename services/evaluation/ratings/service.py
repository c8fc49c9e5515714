"""Ratings are records: stored once per Idempotency-Key."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal

from .models import ConsultationRating, DepartmentRating

Rating = TypeVar("Rating", ConsultationRating, DepartmentRating)


async def record_rating(
    session: AsyncSession, model: type[Rating], values: dict, principal: Principal, idempotency_key: str | None
) -> tuple[Rating, bool]:
    async def existing() -> Rating | None:
        if not idempotency_key:
            return None
        return await session.scalar(select(model).where(model.idempotency_key == idempotency_key))

    if (found := await existing()) is not None:
        return found, False
    rating = model(**values, rated_by=principal.subject, idempotency_key=idempotency_key)
    session.add(rating)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if (found := await existing()) is None:
            raise
        return found, False
    return rating, True
