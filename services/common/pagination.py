"""Keyset pagination by integer id: stable under inserts, cheap on large tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


@dataclass
class KeysetPage(Generic[Row]):
    rows: Sequence[Row]
    total: int
    next_after: int | None


async def keyset_page(
    session: AsyncSession,
    model: Any,
    filters: Sequence[ColumnElement[bool]],
    *,
    after: int | None,
    limit: int,
) -> KeysetPage[Any]:
    total = await session.scalar(select(func.count()).select_from(model).where(*filters))
    query = select(model).where(*filters)
    if after is not None:
        query = query.where(model.id > after)
    rows = (await session.scalars(query.order_by(model.id).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return KeysetPage(rows=rows, total=total or 0, next_after=rows[-1].id if more else None)
