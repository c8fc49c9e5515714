"""Ratings are records: the rater's kind follows their role, one per rater and aspect.

Order of operations: the rater kind is checked against the caller's role (422 naming
``rater_kind`` otherwise), then the rating is inserted; a consultation rating that the
same rater already gave for the same consultation and aspect is refused with 409 (the
unique constraint decides, so two concurrent posts cannot both pass). A retried request
is answered by the request guard's Idempotency-Key (services/common/idempotency.py).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role
from services.common.problems import PROBLEM_BASE, Problem
from services.common.writes import caller_of

from .models import ConsultationRating, DepartmentRating

Rating = TypeVar("Rating", ConsultationRating, DepartmentRating)

# Who may rate as what; the first kind is the one given when the body names none.
RATER_KINDS: dict[type, dict[Role, tuple[str, ...]]] = {
    ConsultationRating: {
        Role.DEPARTMENT: ("department",),
        Role.PUBLIC: ("public",),
        # The office enters the ratings of party and government bodies (党政机关).
        Role.CLERK: ("party_government",),
    },
    DepartmentRating: {
        Role.CHAIR: ("standing_committee",),
        Role.COMMITTEE: ("committee", "member"),
        # The office enters members' ratings collected at inspections (委员视察).
        Role.CLERK: ("member",),
    },
}


def rater_kind(model: type[Rating], principal: Principal, asked: str | None) -> str:
    allowed = RATER_KINDS[model].get(principal.role, ())
    if asked is None and allowed:
        return allowed[0]
    if asked not in allowed:
        message = f"a {principal.role.value} caller rates as {' or '.join(allowed) or 'nobody'}, not {asked}"
        raise Problem(
            422, "Invalid request", f"rater_kind: {message}.", type_=PROBLEM_BASE + "validation",
            errors=[{"field": "rater_kind", "rule": "follows_caller_role", "message": message}],
        )
    return asked


async def record_rating(session: AsyncSession, model: type[Rating], values: dict, principal: Principal) -> Rating:
    values = {**values, "rater_kind": rater_kind(model, principal, values.get("rater_kind"))}
    extra = {"rater": caller_of(principal)} if model is ConsultationRating else {}
    rating = model(**values, rated_by=principal.subject, **extra)
    session.add(rating)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Problem(
            409, "Already rated",
            f"This rater has rated consultation {values.get('consultation_topic_id')} on {values.get('aspect')} "
            "already; one rating per rater, consultation and aspect.",
        ) from exc
    return rating
