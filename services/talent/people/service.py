"""People in the pool (协商人才库): register, change, list, import.

Logs carry ids and counts only: names and contact details are personal data.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role
from services.common.pagination import keyset_page
from services.common.problems import Problem

from .imports import ParsedFile
from .models import PeopleImport, Person
from .schemas import (
    Contact,
    ImportResult,
    PersonCreate,
    PersonPage,
    PersonRead,
    PersonUpdate,
)

log = structlog.get_logger()


def list_key(values: list[str]) -> str:
    """'|a|b|': a LIKE '%|a|%' finds a value on SQLite and PostgreSQL alike."""
    return "|" + "".join(f"{v}|" for v in values)


def to_read(person: Person, principal: Principal) -> PersonRead:
    read = PersonRead.model_validate(person, from_attributes=True)
    if principal.role is Role.CLERK:
        read.contact = Contact(phone=person.phone, email=person.email)
    else:
        read.display_name = None  # need to know: names are the office's
    return read


def _apply(person: Person, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(person, name, value)
    if "expertise" in values:
        person.expertise_key = list_key(person.expertise)
    if "tags" in values:
        person.tags_key = list_key(person.tags)


def new_person(data: PersonCreate, **extra: Any) -> Person:
    person = Person(**extra)
    _apply(person, data.model_dump())
    return person


async def register_person(session: AsyncSession, data: PersonCreate) -> Person:
    """Store one person. (A retried request is answered by the request guard's
    Idempotency-Key: services/common/idempotency.py.)"""
    person = new_person(data)
    session.add(person)
    await session.commit()
    log.info("person.registered", person_id=person.id, kind=person.kind)  # id only: no names in logs
    return person


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise Problem(404, "Not Found", f"No person with id {person_id}.")
    return person


async def update_person(session: AsyncSession, person_id: int, data: PersonUpdate) -> Person:
    person = await get_person(session, person_id)
    changes = data.model_dump(exclude_unset=True)
    _apply(person, changes)
    await session.commit()
    log.info("person.updated", person_id=person.id, fields=sorted(changes))  # field names, never values
    return person


async def delete_person(session: AsyncSession, person_id: int) -> None:
    """Erase a person (e.g. on request, under PIPL). Draw records keep only the id and
    the categorical attributes a draw used, so past draws still verify."""
    person = await get_person(session, person_id)
    await session.delete(person)
    await session.commit()
    log.info("person.deleted", person_id=person_id)


async def list_people(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: str | None = None,
    expertise: str | None = None,
    tag: str | None = None,
    town: str | None = None,
    sector: str | None = None,
    gender: str | None = None,
    age_band: str | None = None,
    active: bool | None = None,
    after: int | None,
    limit: int,
) -> PersonPage:
    filters = []
    if kind:
        filters.append(Person.kind == kind)
    if expertise:
        filters.append(Person.expertise_key.contains(f"|{expertise}|", autoescape=True))
    if tag:
        filters.append(Person.tags_key.contains(f"|{tag}|", autoescape=True))
    for column, value in ((Person.town, town), (Person.sector, sector), (Person.gender, gender), (Person.age_band, age_band)):
        if value is not None:
            filters.append(column == value)
    if active is not None:
        filters.append(Person.active.is_(active))
    page = await keyset_page(session, Person, filters, after=after, limit=limit)
    return PersonPage(items=[to_read(p, principal) for p in page.rows], total=page.total, next_after=page.next_after)


async def import_people(session: AsyncSession, parsed: ParsedFile, principal: Principal) -> ImportResult:
    """Store every row of a file that passed validation, in one transaction."""
    batch = PeopleImport(
        filename=parsed.filename[:200],
        file_format=parsed.file_format,
        rows=len(parsed.people),
        file_sha256=parsed.sha256,
        created_by=principal.subject,
    )
    session.add(batch)
    await session.flush()
    people = [new_person(data, import_id=batch.id) for data in parsed.people]
    session.add_all(people)
    await session.commit()
    log.info("people.imported", import_id=batch.id, rows=batch.rows, file_format=batch.file_format)
    return ImportResult(import_id=batch.id, rows=batch.rows, person_ids=[p.id for p in people])
