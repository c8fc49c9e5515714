"""Reference data: looked up by code wherever a request names an organiser or venue."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.problems import PROBLEM_BASE, Problem

from .models import Organiser, Venue
from .schemas import OrganiserCreate, VenueCreate

M = TypeVar("M", Organiser, Venue)


async def list_all(session: AsyncSession, model: type[M], kind: str | None = None) -> list[M]:
    query = select(model).order_by(model.id)
    if kind:
        query = query.where(model.kind == kind)
    return list((await session.scalars(query)).all())


async def create(session: AsyncSession, model: type[M], data: OrganiserCreate | VenueCreate) -> M:
    row = model(**data.model_dump(mode="json"))
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Problem(409, "Conflict", f"code '{data.code}' is taken.", field="code") from None
    return row


async def by_code(session: AsyncSession, model: type[M], code: str | None, *, field: str) -> M | None:
    """The row with ``code``; an unknown code is a 422 naming the request's field."""
    if code is None:
        return None
    row = await session.scalar(select(model).where(model.code == code))
    if row is None:
        what = "organiser" if model is Organiser else "venue"
        raise Problem(
            422,
            "Invalid request",
            f"{field}: unknown {what} '{code}' (see GET /{what}s) (unknown_{what})",
            type_=PROBLEM_BASE + "validation",
            errors=[{"field": field, "rule": f"unknown_{what}", "message": f"unknown {what} '{code}'"}],
        )
    return row
