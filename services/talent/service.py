"""People in the pool."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.pagination import keyset_page
from services.common.problems import Problem

from .models import Person
from .schemas import PersonCreate, PersonPage, PersonRead

log = structlog.get_logger()


async def register_person(session: AsyncSession, data: PersonCreate) -> Person:
    person = Person(**data.model_dump())
    session.add(person)
    await session.commit()
    log.info("person.registered", person_id=person.id, kind=person.kind)  # id only: no names in logs
    return person


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise Problem(404, "Not Found", f"No person with id {person_id}.")
    return person


async def list_people(session: AsyncSession, *, kind: str | None, after: int | None, limit: int) -> PersonPage:
    filters = [Person.kind == kind] if kind else []
    page = await keyset_page(session, Person, filters, after=after, limit=limit)
    return PersonPage(
        items=[PersonRead.model_validate(p) for p in page.rows], total=page.total, next_after=page.next_after
    )
