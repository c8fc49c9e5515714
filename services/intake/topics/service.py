"""Topic logic: store first, then start the topic's ConsultationWorkflow.

The topic is committed before Temporal is called, so nothing accepted is lost: if the
process dies (or Temporal is down) in between, ``start_pending_workflows`` finds the
topic without a workflow and starts it. Starting is idempotent by workflow id.

Every topic has at least one submission (the one that opened it); near-duplicates join
it as supporters (submissions/service.py), staff merge and split by hand (here).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import (
    Text,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union,
    update,
)
from sqlalchemy import text as sql_text
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
    every term (:func:`_matches_text`). On PostgreSQL, :func:`_text_listing` finds the
    same pages and totals with less work. Measured over 1,000,000 topics in
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
    cap = TEXT_TOTAL_CAP if q else TOTAL_CAP
    terms = search_terms(q) if q else []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and any(len(term) >= BIGRAM_MIN_CHARS for term in terms):
        counted, rows = await _text_listing(session, filters, terms, cap, newest_first=newest_first, after=after,
                                            limit=limit)
    else:
        filters.extend(_matches_text(term, dialect) for term in terms)
        # Counting every match is what made deep listings slow (a full count per page over
        # 1,000,000 topics): count up to the cap and say when the cap was reached.
        counted = await _count_upto(session, filters, cap)
        query = select(Topic).where(*filters)
        if after is not None:
            query = query.where(Topic.id < after if newest_first else Topic.id > after)
        order = Topic.id.desc() if newest_first else Topic.id
        rows = list((await session.scalars(query.order_by(order).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return TopicPage(items=await to_reads(session, rows), total=min(counted, cap), total_capped=counted > cap,
                     next_after=rows[-1].id if more else None)


async def _count_upto(session: AsyncSession, filters: list[ColumnElement[bool]], cap: int) -> int:
    return await session.scalar(
        select(func.count()).select_from(select(Topic.id).where(*filters).limit(cap + 1).subquery())
    ) or 0


# A page's window (the ids between ``after`` and the page's last possible topic) is read
# by id range when it spans at most this many ids, through the bigram indexes otherwise.
TEXT_WINDOW_IDS = 25_000
# How long the bigram frequencies read from pg_stats are reused.
BIGRAM_STATS_SECONDS = 300.0
_bigram_stats: dict[str, tuple[float, float, dict[str, float], float]] = {}


async def own_text_share(session: AsyncSession, terms: list[str]) -> tuple[float, float] | None:
    """PostgreSQL's estimate of the share of topics whose own text holds every term, and
    the number of topics: from ``most_common_elems`` of the topics' bigram index (what
    ANALYZE collected for ``xieshang_bigrams(search_text)``). A term is at most as
    frequent as its rarest bigram; a bigram outside the list is rarer than the rarest in
    it; terms are taken as independent. None without statistics (never analysed)."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    cached = _bigram_stats.get(key)
    if cached is None or now - cached[0] > BIGRAM_STATS_SECONDS:
        row = (await session.execute(sql_text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs, "
            "(SELECT reltuples FROM pg_class WHERE oid = 'topics'::regclass) "
            "FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'ix_topics_search_text_bigrams'"
        ))).first()
        if row is None or row[0] is None or not row[1] or row[2] is None or row[2] <= 0:
            _bigram_stats[key] = cached = (now, 0.0, {}, 0.0)
        else:
            elems, freqs, topics = row
            # The frequencies list ends with the minimum, the maximum and the null share.
            _bigram_stats[key] = cached = (now, float(topics), dict(zip(elems, freqs, strict=False)),
                                           float(freqs[-3]))
    _, topics, freq, rarest = cached
    if not freq:
        return None
    share = 1.0
    for term in terms:
        grams = bigrams(term)
        if grams:
            share *= min(freq.get(g, rarest / 2) for g in grams)
    return share, topics


def _holds(term: str) -> ColumnElement[bool]:
    """This topic's text or one of its submissions' holds ``term``, checked row by row.
    A scalar subquery with LIMIT, not EXISTS: PostgreSQL may hash an EXISTS over every
    submission instead of looking up this topic's few."""
    pattern = f"%{_escape_like(term)}%"
    in_submission = (
        select(literal(1)).where(Submission.topic_id == Topic.id, or_(
            Submission.title_normalised.like(pattern, escape="\\"),
            Submission.content_normalised.like(pattern, escape="\\"),
        )).limit(1).correlate(Topic).scalar_subquery()
    )
    return or_(Topic.search_text.like(pattern, escape="\\"), in_submission.is_not(None))


async def _text_listing(
    session: AsyncSession,
    filters: list[ColumnElement[bool]],
    terms: list[str],
    cap: int,
    *,
    newest_first: bool,
    after: int | None,
    limit: int,
) -> tuple[int, list[Topic]]:
    """Free text on PostgreSQL: the same total and page as filtering by
    :func:`_matches_text`, without gathering every match of a frequent term.

    Through the bigram indexes alone, all the topics and submissions that hold a term are
    collected before the first page can be taken in id order: for a two-character word
    in 1 topic out of 40, some 50,000 of each over 1,000,000 topics (a second). Most
    matches, though, are in the topic's own text (``own``: every term in
    ``search_text``), which one table answers, and those are a subset of the matches:

    * the total: when ``own`` reaches the cap, the total is capped; otherwise it is
      counted exactly through the indexes (the matches are then few or the terms rare).
    * the page lies between ``after`` and the (limit + 1)-th ``own`` match past it
      (``ahead``): only that window is read. A frequent term's ``own`` matches are found
      in id order (a few hundred rows for a page), a rarer one's through the index
      (:func:`own_text_share` estimates which). In a narrow window the candidates are the
      ``own`` matches and the topics whose submissions in the window (read by id range)
      hold any term, each then checked term by term; a wide one goes through the
      indexes, limited to the window.
    """
    patterns = [f"%{_escape_like(term)}%" for term in terms]
    like = [Topic.search_text.like(pattern, escape="\\") for pattern in patterns]
    grams = sorted({g for term in terms for g in bigrams(term)})
    own = [func.xieshang_bigrams(Topic.search_text).op("@>")(
        cast(postgresql.array(grams), postgresql.ARRAY(Text))), *like]
    order = Topic.id.desc() if newest_first else Topic.id

    def beyond(column: ColumnElement[int], edge: int) -> ColumnElement[bool]:
        return column < edge if newest_first else column > edge

    def upto(column: ColumnElement[int], edge: int) -> ColumnElement[bool]:
        return column >= edge if newest_first else column <= edge

    past = [] if after is None else [beyond(Topic.id, after)]
    # Each statement below reads at most a few thousand rows: starting parallel workers
    # (or compiling with JIT, for the fallbacks' inflated cost estimates) costs more
    # than it saves. For this transaction only.
    await session.execute(sql_text("SELECT set_config('max_parallel_workers_per_gather', '0', true), "
                                   "set_config('jit', 'off', true)"))
    # Where the window starts: `after`, or the first topic in page order.
    start = after if after is not None else await session.scalar(
        select(func.max(Topic.id) if newest_first else func.min(Topic.id)))
    estimate = await own_text_share(session, terms)
    # Every match holds the rarest term: gather its matches through the indexes and test
    # the other terms on those topics only (gathering a frequent term's ~100,000 index
    # matches to intersect them with a rare one's few took a second).
    shares = {term: (await own_text_share(session, [term]) or (0.0, 0.0))[0] for term in terms}
    driver = min((term for term in terms if len(term) >= BIGRAM_MIN_CHARS), key=lambda t: (shares[t], -len(t)))
    exact = [_matches_text(driver, "postgresql"), *(_holds(term) for term in terms if term != driver)]
    ahead: list[int] = []
    if estimate is not None and estimate[0] > 0 and (limit + 1) / estimate[0] < estimate[0] * estimate[1]:
        # Frequent: count through the index (no order: stops at the cap), find the page's
        # own matches in id order with LIKE alone (the bigram function costs more per row
        # than the index saves here), within TEXT_WINDOW_IDS of the start.
        own_count = await _count_upto(session, [*filters, *own], cap)
        counted = own_count if own_count > cap else await _count_upto(session, [*filters, *exact], cap)
        if start is not None:
            edge = start - TEXT_WINDOW_IDS if newest_first else start + TEXT_WINDOW_IDS
            ahead = list((await session.scalars(
                select(Topic.id).where(*filters, *like, *past, upto(Topic.id, edge)).order_by(order).limit(limit + 1)
            )).all())
    else:
        # Rare (or unknown): the own matches through the index, in page order.
        own_ids = list((await session.scalars(
            select(Topic.id).where(*filters, *own).order_by(order).limit(cap + 1))).all())
        counted = len(own_ids) if len(own_ids) > cap else await _count_upto(session, [*filters, *exact], cap)
        ahead = own_ids if after is None else [i for i in own_ids if (i < after if newest_first else i > after)]
        if len(ahead) <= limit and len(own_ids) > cap and after is not None:
            ahead = list((await session.scalars(
                select(Topic.id).where(*filters, *own, *past).order_by(order).limit(limit + 1))).all())
        ahead = ahead[:limit + 1]

    if len(ahead) <= limit:  # fewer own matches past `after` than a page: no window
        query = select(Topic).where(*filters, *past, *exact)
        return counted, list((await session.scalars(query.order_by(order).limit(limit + 1))).all())
    bound = ahead[-1]
    window = [*past, upto(Topic.id, bound)]
    if start is None or abs(bound - start) > TEXT_WINDOW_IDS:
        query = select(Topic).where(*filters, *window, *exact)
        return counted, list((await session.scalars(query.order_by(order).limit(limit + 1))).all())
    in_window = [upto(Submission.topic_id, bound)]
    if after is not None:
        in_window.append(beyond(Submission.topic_id, after))
    columns = (Submission.title_normalised, Submission.content_normalised)
    candidates = union(
        select(Topic.id).where(Topic.id.in_(ahead)),
        select(Submission.topic_id).where(*in_window, or_(*(
            column.like(pattern, escape="\\") for column in columns for pattern in patterns))),
    )

    query = select(Topic).where(*filters, *window, Topic.id.in_(candidates), *(_holds(term) for term in terms))
    return counted, list((await session.scalars(query.order_by(order).limit(limit + 1))).all())


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
