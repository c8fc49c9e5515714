"""Scorecards computed from the follow-up records and the two-way ratings.

Definitions (docs/follow-up.md):
- on time: completed no later than the due date in force (an approved extension moves it);
- average delay: mean days past the due date, over commitments completed late;
- escalations per level: rungs of the ladder that fired (levels 1–4; reminders and
  progress reminders are counted apart);
- satisfaction: every rating given, including the unsatisfied ones that reopened.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from statistics import mean
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import vocabulary

from ..commitments.models import Commitment, CommitmentAction, EscalationEvent
from ..ratings.models import ConsultationRating, DepartmentRating

LEVELS = ("1", "2", "3", "4")
RATINGS = vocabulary.RATINGS


class DepartmentScorecard(BaseModel):
    department: str
    plan_year: int | None
    commitments: int
    completed: int
    on_time: int
    on_time_rate: float | None
    average_delay_days: float | None
    average_delay_seconds: int | None  # the same, exact enough for seconds-scale policies
    open_overdue: int
    reminders: int
    progress_reminders: int
    escalations_by_level: dict[str, int]
    satisfaction: dict[str, int]
    supervision_ratings: dict[str, float]  # mean score per supervision means
    supervision_rating_count: int


class OrganiserScorecard(BaseModel):
    organiser: str
    plan_year: int
    consultations_rated: int
    topic_precision: float | None
    outcome_quality: float | None
    ratings: int
    commitments: int
    on_time_rate: float | None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def department_scorecards(
    session: AsyncSession, *, plan_year: int | None, department: str | None, now: Any
) -> list[DepartmentScorecard]:
    query = select(Commitment)
    if plan_year is not None:
        query = query.where(Commitment.plan_year == plan_year)
    if department is not None:
        query = query.where(Commitment.department == department)
    commitments = (await session.scalars(query.order_by(Commitment.id))).all()
    ids = [c.id for c in commitments]
    events = (await session.scalars(select(EscalationEvent).where(EscalationEvent.commitment_id.in_(ids)))).all()
    ratings_given = (
        await session.scalars(
            select(CommitmentAction).where(
                CommitmentAction.commitment_id.in_(ids),
                CommitmentAction.kind == "satisfaction",
                CommitmentAction.outcome == "accepted",
            )
        )
    ).all()
    rating_query = select(DepartmentRating)
    if plan_year is not None:
        rating_query = rating_query.where(DepartmentRating.plan_year == plan_year)
    if department is not None:
        rating_query = rating_query.where(DepartmentRating.department == department)
    supervision = (await session.scalars(rating_query)).all()

    by_department: dict[str, list[Commitment]] = defaultdict(list)
    for c in commitments:
        by_department[c.department].append(c)
    for r in supervision:
        by_department.setdefault(r.department, [])
    department_of = {c.id: c.department for c in commitments}

    cards = []
    for name in sorted(by_department):
        own = by_department[name]
        completed = [c for c in own if c.completed_at is not None]
        on_time = [c for c in completed if c.completed_at <= c.due_at]
        late_days = [(c.completed_at - c.due_at).total_seconds() / 86400 for c in completed if c.completed_at > c.due_at]
        own_events = [e for e in events if department_of[e.commitment_id] == name]
        levels = Counter(str(e.level) for e in own_events if e.step not in ("reminder", "progress_missing"))
        satisfaction = Counter(
            a.payload.get("rating") for a in ratings_given if department_of[a.commitment_id] == name
        )
        means: dict[str, list[int]] = defaultdict(list)
        for r in supervision:
            if r.department == name:
                means[r.means].append(r.score)
        cards.append(
            DepartmentScorecard(
                department=name,
                plan_year=plan_year,
                commitments=len(own),
                completed=len(completed),
                on_time=len(on_time),
                on_time_rate=_round(len(on_time) / len(completed)) if completed else None,
                average_delay_days=_round(mean(late_days)) if late_days else None,
                average_delay_seconds=round(mean(late_days) * 86400) if late_days else None,
                open_overdue=sum(1 for c in own if c.completed_at is None and c.due_at < now),
                reminders=sum(1 for e in own_events if e.step == "reminder"),
                progress_reminders=sum(1 for e in own_events if e.step == "progress_missing"),
                escalations_by_level={level: levels.get(level, 0) for level in LEVELS},
                satisfaction={r: satisfaction.get(r, 0) for r in RATINGS},
                supervision_ratings={m: round(mean(s), 3) for m, s in sorted(means.items())},
                supervision_rating_count=sum(len(s) for s in means.values()),
            )
        )
    return cards


async def organiser_scorecards(session: AsyncSession, *, plan_year: int | None) -> list[OrganiserScorecard]:
    query = select(ConsultationRating)
    if plan_year is not None:
        query = query.where(ConsultationRating.plan_year == plan_year)
    ratings = (await session.scalars(query)).all()
    c_query = select(Commitment).where(Commitment.organiser.is_not(None), Commitment.plan_year.is_not(None))
    if plan_year is not None:
        c_query = c_query.where(Commitment.plan_year == plan_year)
    commitments = (await session.scalars(c_query)).all()

    keys = sorted({(r.organiser, r.plan_year) for r in ratings} | {(c.organiser, c.plan_year) for c in commitments})
    cards = []
    for organiser, year in keys:
        own = [r for r in ratings if (r.organiser, r.plan_year) == (organiser, year)]
        precision = [r.score for r in own if r.aspect == "topic_precision"]
        quality = [r.score for r in own if r.aspect == "outcome_quality"]
        theirs = [c for c in commitments if (c.organiser, c.plan_year) == (organiser, year)]
        completed = [c for c in theirs if c.completed_at is not None]
        on_time = [c for c in completed if c.completed_at <= c.due_at]
        cards.append(
            OrganiserScorecard(
                organiser=organiser,
                plan_year=year,
                consultations_rated=len({r.consultation_topic_id for r in own}),
                topic_precision=_round(mean(precision)) if precision else None,
                outcome_quality=_round(mean(quality)) if quality else None,
                ratings=len(own),
                commitments=len(theirs),
                on_time_rate=_round(len(on_time) / len(completed)) if completed else None,
            )
        )
    return cards


def as_csv(cards: list[BaseModel]) -> str:
    """Flat CSV: nested counters become columns such as escalations_by_level.2."""
    rows = []
    for card in cards:
        flat: dict[str, Any] = {}
        for key, value in card.model_dump().items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        rows.append(flat)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
