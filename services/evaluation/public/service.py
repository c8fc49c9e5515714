"""The public read API: commitments as a resident may see them (答复公开).

Read-only, no token, no personal data: replies appear only once the office's disclosure
review published them (in full with contact data removed, or as a summary); withheld
and pending replies never do. The cursor is opaque to clients (the last id, encoded),
so its form can change without breaking a page.
"""

from __future__ import annotations

import base64
import math
import binascii
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import vocabulary
from services.common.deadlines.working_days import DEFAULT_CLOCK, OfficialCalendar, working_days_between
from services.common.problems import Problem
from services.common.types import MAX_DB_ID

from ..calendar.service import list_schedules
from ..commitments.models import CoHandler, Commitment, CommitmentAction, CommitmentReply
from .schemas import PublicCommitment, PublicCommitmentPage, PublicReply, SatisfactionCounts, SatisfactionSummary

_CURSOR_PREFIX = "c1."


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError
        value = int(text[len(_CURSOR_PREFIX):])
        if not 0 <= value <= MAX_DB_ID:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(422, "Invalid request", "cursor: not a cursor this API gave out; pass next_cursor as it came.",
                      errors=[{"field": "query.cursor", "rule": "cursor", "message": "unknown cursor"}]) from None
    return value


def due_in_working_days(commitment: Commitment, calendar: OfficialCalendar) -> int:
    """Working days from the assignment (交办) to the due date in force: of the official
    calendar, or of the commitment's seconds scale (demos and tests)."""
    assigned = commitment.assigned_at or commitment.created_at
    if commitment.working_day_seconds:
        days = (commitment.due_at - assigned).total_seconds() / commitment.working_day_seconds
        # A scale a hair above zero makes astronomically many "days": held to the INTEGER range.
        return round(max(-MAX_DB_ID, min(MAX_DB_ID, days))) if math.isfinite(days) else \
            (MAX_DB_ID if days > 0 else -MAX_DB_ID)
    return working_days_between(DEFAULT_CLOCK.local_date(assigned), DEFAULT_CLOCK.local_date(commitment.due_at), calendar)


def counts(ratings: list[str]) -> SatisfactionCounts:
    c = Counter(ratings)
    return SatisfactionCounts(ratings=sum(c[r] for r in vocabulary.RATINGS), satisfied=c["satisfied"],
                              basically_satisfied=c["basically_satisfied"], unsatisfied=c["unsatisfied"])


async def public_commitments(
    session: AsyncSession, *, topic_id: int | None, cursor: str | None, limit: int
) -> PublicCommitmentPage:
    query = select(Commitment)
    if topic_id is not None:
        query = query.where(Commitment.consultation_topic_id == topic_id)
    if cursor is not None:
        query = query.where(Commitment.id > decode_cursor(cursor))
    rows = list((await session.scalars(query.order_by(Commitment.id).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [c.id for c in rows]
    co_handlers: dict[int, list[str]] = defaultdict(list)
    replies: dict[int, list[PublicReply]] = defaultdict(list)
    handling: dict[int, list[str]] = defaultdict(list)
    outcome: dict[int, list[str]] = defaultdict(list)
    if ids:
        for co in (await session.scalars(
            select(CoHandler).where(CoHandler.commitment_id.in_(ids)).order_by(CoHandler.id)
        )).all():
            co_handlers[co.commitment_id].append(co.department)
        for reply in (await session.scalars(
            select(CommitmentReply)
            .where(CommitmentReply.commitment_id.in_(ids), CommitmentReply.review_status == "published")
            .order_by(CommitmentReply.id)
        )).all():
            replies[reply.commitment_id].append(PublicReply(
                reply_class=reply.reply_class, published_at=reply.published_at or reply.reviewed_at or reply.answered_at,
                text=reply.public_text or "", disclosure=reply.disclosure or "summary",
            ))
        for action in (await session.scalars(
            select(CommitmentAction).where(
                CommitmentAction.commitment_id.in_(ids), CommitmentAction.kind == "satisfaction",
                CommitmentAction.outcome == "accepted",
            )
        )).all():
            if action.payload.get("rating"):
                outcome[action.commitment_id].append(action.payload["rating"])
            if action.payload.get("handling_rating"):
                handling[action.commitment_id].append(action.payload["handling_rating"])
    calendar = OfficialCalendar(await list_schedules(session)) if rows else OfficialCalendar()
    items = [
        PublicCommitment(
            id=c.id,
            topic_id=c.consultation_topic_id,
            lead_department=c.department,
            co_handlers=co_handlers[c.id],
            content=c.content,
            due_at=c.due_at,
            due_in_working_days=due_in_working_days(c, calendar),
            status=c.status,
            escalation_level=c.escalation_level,
            reopened_count=c.reopenings,
            replies=replies[c.id],
            satisfaction=SatisfactionSummary(handling=counts(handling[c.id]), outcome=counts(outcome[c.id])),
        )
        for c in rows
    ]
    return PublicCommitmentPage(items=items, next_cursor=encode_cursor(rows[-1].id) if more else None)


