"""Topic logic: store first, then start the topic's ConsultationWorkflow.

The topic is committed before Temporal is called, so nothing accepted is lost: if the
process dies (or Temporal is down) in between, ``start_pending_workflows`` finds the
topic without a workflow and starts it. Starting is idempotent by workflow id.

Every topic has at least one submission (the one that opened it); near-duplicates join
it as supporters (submissions/service.py), staff merge and split by hand (here).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Text, and_, cast, exists, func, or_, select, union, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from temporalio.client import Client

from services.common.auth import Principal
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.text import normalise_for_matching
from workflows.consultation import Stage, consultation_workflow_id

from ..consultation_client import ConsultationClient
from ..decisions.models import Decision
from ..reference.models import Organiser, Venue
from .index import OPEN_STAGES, TopicIndex, topic_text
from .models import Submission, Topic
from .schemas import (
    JoinedAs,
    PlanInfo,
    SplitRequest,
    SubmissionStatus,
    TopicCreate,
    TopicPage,
    TopicRead,
)

log = structlog.get_logger()


async def register_topic(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    data: TopicCreate,
    principal: Principal,
) -> Topic:
    """A topic the office registers directly (no duplicate check): it opens a topic of
    its own, with its registration kept as the opening submission."""
    submission = Submission(
        channel=data.channel.value,
        status=SubmissionStatus.ACCEPTED.value,
        title_raw=data.title,
        content_raw=data.content,
        title_normalised=normalise_for_matching(data.title),
        content_normalised=normalise_for_matching(data.content),
        submitted_by=principal.subject,
    )
    return await open_topic(session, temporal, settings, index, submission, registered_by=principal.subject)


async def open_topic(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    submission: Submission,
    *,
    registered_by: str,
    title: str | None = None,
    content: str | None = None,
) -> Topic:
    """A new topic opened by ``submission`` (added to the session or already stored)."""
    title = title or submission.title_raw
    content = content or submission.content_raw
    topic = Topic(
        title=title,
        content=content,
        channel=submission.channel,
        registered_by=registered_by,
        search_text=normalise_for_matching(topic_text(title, content)),
        stage=Stage.SUBMITTED,
    )
    session.add(topic)
    await session.flush()
    topic.signature = index.add(topic.id, topic_text(title, content))
    submission.topic_id = topic.id
    submission.joined_as = JoinedAs.OPENED.value
    session.add(submission)
    await session.commit()
    log.info("topic.registered", topic_id=topic.id, channel=topic.channel)
    if temporal is not None:
        await start_consultation(session, temporal, settings, topic)
    return topic


async def start_consultation(session: AsyncSession, temporal: Client | None, settings: Settings, topic: Topic) -> bool:
    """Start the topic's workflow (through the one ConsultationWorkflow client)."""
    return await ConsultationClient(temporal, settings).start(session, topic)


async def start_pending_workflows(session: AsyncSession, temporal: Client, settings: Settings, *, older_than: timedelta) -> int:
    cutoff = datetime.now(UTC) - older_than
    pending = (
        await session.scalars(
            select(Topic).where(Topic.workflow_started_at.is_(None), Topic.created_at <= cutoff).order_by(Topic.id).limit(100)
        )
    ).all()
    started = 0
    for topic in pending:
        started += await start_consultation(session, temporal, settings, topic)
    return started


async def get_topic(session: AsyncSession, topic_id: int) -> Topic:
    topic = await session.get(Topic, topic_id)
    if topic is None:
        raise Problem(404, "Not Found", f"No topic with id {topic_id}.")
    return topic


async def read_stage(temporal: Client | None, topic: Topic) -> str:
    """The stage as the workflow knows it (see ConsultationClient.stage)."""
    return await ConsultationClient(temporal).stage(topic)


def registered_read(topic: Topic, stage: str) -> TopicRead:
    """The answer to a registration, without reading back what was just written: a
    registered topic has exactly its opening submission and no plan entry yet (the
    read-back was a tenth of intake's CPU per registration, docs/benchmarks.md)."""
    return TopicRead(
        id=topic.id, title=topic.title, content=topic.content, channel=topic.channel, created_at=topic.created_at,
        workflow_id=consultation_workflow_id(topic.id), stage=stage, support_count=1,
        merged_into_id=topic.merged_into_id, plan=None,
    )


async def to_read(session: AsyncSession, topic: Topic, stage: str | None = None) -> TopicRead:
    return (await to_reads(session, [topic], {topic.id: stage} if stage else None))[0]


async def to_reads(session: AsyncSession, topics: list[Topic], stages: dict[int, str] | None = None) -> list[TopicRead]:
    """Topics with their support counts and plan entries, in two queries for a page."""
    ids = [t.id for t in topics]
    counts = dict(
        (
            await session.execute(
                select(Submission.topic_id, func.count())
                .where(Submission.topic_id.in_(ids), Submission.status == SubmissionStatus.ACCEPTED.value)
                .group_by(Submission.topic_id)
            )
        ).all()
    )
    plans = {
        d.topic_id: PlanInfo(plan_year=d.plan_year, format=d.format, organiser=org, venue=venue, planned_month=d.planned_month)
        for d, org, venue in (
            await session.execute(
                select(Decision, Organiser.code, Venue.code)
                .outerjoin(Organiser, Organiser.id == Decision.organiser_id)
                .outerjoin(Venue, Venue.id == Decision.venue_id)
                .where(Decision.topic_id.in_(ids), Decision.outcome == "accepted", Decision.delivery == "delivered")
            )
        ).all()
    }
    return [
        TopicRead(
            id=t.id,
            title=t.title,
            content=t.content,
            channel=t.channel,
            created_at=t.created_at,
            workflow_id=consultation_workflow_id(t.id),
            stage=(stages or {}).get(t.id, t.stage),
            support_count=counts.get(t.id, 0),
            merged_into_id=t.merged_into_id,
            plan=plans.get(t.id),
        )
        for t in topics
    ]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# `total` is exact up to these caps (docs/intake.md); free text costs more per row.
TOTAL_CAP = 10_000
TEXT_TOTAL_CAP = 1_000
# PostgreSQL's bigram indexes (migration 0005_speed) serve terms of two characters or more.
BIGRAM_MIN_CHARS = 2


def search_terms(q: str) -> list[str]:
    """The terms of a free-text query, each normalised like ``search_text``. Split on
    whitespace *before* normalising: normalisation removes the space between two CJK
    characters (so "学校 安全" would otherwise become the single term "学校安全")."""
    terms = [normalise_for_matching(part) for part in q.split()]
    return list(dict.fromkeys(t for t in terms if t))


def bigrams(term: str) -> list[str]:
    """What ``xieshang_bigrams`` computes in PostgreSQL: the distinct two-character
    substrings."""
    return sorted({term[i:i + 2] for i in range(len(term) - 1)})


def _matches_text(term: str, dialect: str) -> ColumnElement[bool]:
    """A topic matches a term when its own text or any of its submissions' does
    (supporters' words count too).

    On PostgreSQL, a term of two characters or more is looked up through the bigram
    indexes: the ids of topics, and of topics behind submissions, whose text holds every
    bigram of the term (a GIN index look-up) and then the term itself (LIKE). Otherwise
    (one character, or SQLite) each topic is tested in id order, which stops as soon
    as a page is full."""
    pattern = f"%{_escape_like(term)}%"
    if dialect == "postgresql" and len(term) >= BIGRAM_MIN_CHARS:
        grams = cast(postgresql.array(bigrams(term)), postgresql.ARRAY(Text))

        def holds(column: ColumnElement[str]) -> ColumnElement[bool]:
            return and_(func.xieshang_bigrams(column).op("@>")(grams), column.like(pattern, escape="\\"))

        own = aliased(Topic)
        return Topic.id.in_(
            union(
                select(own.id).where(holds(own.search_text)),
                select(Submission.topic_id).where(holds(Submission.title_normalised)),
                select(Submission.topic_id).where(holds(Submission.content_normalised)),
            )
        )
    in_submission = or_(
        Submission.title_normalised.like(pattern, escape="\\"),
        Submission.content_normalised.like(pattern, escape="\\"),
    )
    return or_(
        Topic.search_text.like(pattern, escape="\\"),
        exists().where(Submission.topic_id == Topic.id, in_submission),
    )


async def list_topics(
    session: AsyncSession,
    *,
    channel: str | None = None,
    stage: str | None = None,
    year: int | None = None,
    organiser: str | None = None,
    format_: str | None = None,
    q: str | None = None,
    newest_first: bool = False,
    after: int | None,
    limit: int,
) -> TopicPage:
    """Filtered, sorted by id (creation order; unique, so stable), keyset pages: ``after``
    is the last id of the previous page in either direction. With the total, counted up
    to a cap (``TOTAL_CAP``, ``TEXT_TOTAL_CAP``).

    Free text ``q`` is split into terms on whitespace, each normalised like the stored
    ``search_text`` (Traditional → Simplified, full-width folded); a topic must match
    every term (:func:`_matches_text`). Measured over 1,000,000 topics in
    docs/benchmarks.md.
    """
    filters = []
    if channel:
        filters.append(Topic.channel == channel)
    if stage:
        filters.append(Topic.stage == stage)
    if year is not None or organiser or format_:
        plan = select(Decision.topic_id).where(Decision.outcome == "accepted", Decision.delivery == "delivered")
        if year is not None:
            plan = plan.where(Decision.plan_year == year)
        if format_:
            plan = plan.where(Decision.format == format_)
        if organiser:
            plan = plan.where(Decision.organiser_id.in_(select(Organiser.id).where(Organiser.code == organiser)))
        filters.append(Topic.id.in_(plan))
    if q:
        dialect = session.get_bind().dialect.name
        filters.extend(_matches_text(term, dialect) for term in search_terms(q))
    cap = TEXT_TOTAL_CAP if q else TOTAL_CAP
    # Counting every match is what made deep listings slow (a full count per page over
    # 1,000,000 topics): count up to the cap and say when the cap was reached.
    counted = await session.scalar(
        select(func.count()).select_from(select(Topic.id).where(*filters).limit(cap + 1).subquery())
    ) or 0
    query = select(Topic).where(*filters)
    if after is not None:
        query = query.where(Topic.id < after if newest_first else Topic.id > after)
    order = Topic.id.desc() if newest_first else Topic.id
    rows = list((await session.scalars(query.order_by(order).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return TopicPage(items=await to_reads(session, rows), total=min(counted, cap), total_capped=counted > cap,
                     next_after=rows[-1].id if more else None)


async def split_topic(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    topic_id: int,
    data: SplitRequest,
    principal: Principal,
) -> Topic:
    """Staff split submissions that are a different concern out into a new topic."""
    source = await get_topic(session, topic_id)
    if source.stage not in OPEN_STAGES:
        raise Problem(409, "Conflict", f"Topic {topic_id} is {source.stage}; only open topics can be split.")
    submissions = list(
        (await session.scalars(select(Submission).where(Submission.id.in_(data.submission_ids)).order_by(Submission.id))).all()
    )
    found = {s.id for s in submissions}
    missing = [i for i in data.submission_ids if i not in found or next(s for s in submissions if s.id == i).topic_id != topic_id]
    if missing:
        raise Problem(
            422, "Invalid request", f"submission_ids: {missing} are not submissions of topic {topic_id}.",
            type_="https://xieshang.example/problems/validation",
            errors=[{"field": "submission_ids", "rule": "not_in_topic", "message": f"{missing} not in topic {topic_id}"}],
        )
    remaining = await session.scalar(
        select(func.count()).select_from(Submission).where(Submission.topic_id == topic_id, Submission.id.not_in(found))
    )
    if not remaining:
        raise Problem(409, "Conflict", "A split must leave at least one submission in the original topic.")
    first, *rest = submissions
    topic = await open_topic(session, temporal, settings, index, first, registered_by=principal.subject, title=data.title)
    first.joined_as = JoinedAs.SPLIT.value
    for s in rest:
        s.topic_id = topic.id
        s.joined_as = JoinedAs.SPLIT.value
    await session.commit()
    log.info("topic.split", topic_id=topic_id, new_topic_id=topic.id, moved=len(submissions))
    return topic


async def move_supporters(session: AsyncSession, from_topic_id: int, into_topic_id: int) -> int:
    """A merge: every submission behind ``from_topic_id`` now supports the target."""
    result = await session.execute(
        update(Submission)
        .where(Submission.topic_id == from_topic_id)
        .values(
            topic_id=into_topic_id,
            joined_as=JoinedAs.MERGED.value,
            # The first topic it stood behind: its submitter hears that topic's outcome.
            merged_from_topic_id=func.coalesce(Submission.merged_from_topic_id, from_topic_id),
        )
    )
    return result.rowcount or 0


async def backfill_legacy_topics(session: AsyncSession, index: TopicIndex) -> int:
    """Topics registered before migration 0002 get what every topic now has: an opening
    submission, a search text and a duplicate signature (computed here, in Python,
    because the migration must not import the normaliser)."""
    legacy = list((await session.scalars(select(Topic).where(Topic.signature.is_(None)).order_by(Topic.id).limit(100))).all())
    for topic in legacy:
        text = topic_text(topic.title, topic.content)
        topic.search_text = normalise_for_matching(text)
        topic.signature = index.add(topic.id, text)
        has_submission = await session.scalar(select(Submission.id).where(Submission.topic_id == topic.id).limit(1))
        if has_submission is None:
            session.add(
                Submission(
                    topic_id=topic.id,
                    channel=topic.channel,
                    status=SubmissionStatus.ACCEPTED.value,
                    joined_as=JoinedAs.OPENED.value,
                    title_raw=topic.title,
                    content_raw=topic.content,
                    title_normalised=normalise_for_matching(topic.title),
                    content_normalised=normalise_for_matching(topic.content),
                    submitted_by=topic.registered_by,
                    received_at=topic.created_at,
                )
            )
    await session.commit()
    return len(legacy)
