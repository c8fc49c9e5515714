"""Submissions from the seven channels, screening and the moderation queue.

One public submission, top-down (``receive_public``):
1. hard rate limits per resident (token subject) and per client address, counted
   atomically in the database (rate_limits.py; the address is the peer's unless a trusted
   proxy forwarded it, client_identity.py): past a limit the request is refused with 429
   and Retry-After (the sender is told; nothing is dropped silently);
2. screening of the text as received (``screen_submission``) and the flood window
   (``FloodWindow``): spam or a flood goes to the moderation queue with its reasons;
3. otherwise ``attach``: a near-duplicate of an open topic joins it as a supporter,
   anything else opens a new topic (and its ConsultationWorkflow).

The contact and the submitter's name are stored only; logs carry ids and codes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from services.common.auth import Principal
from services.common.db import utcnow
from services.common.pagination import keyset_page
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.text import normalise_for_matching
from services.common.vocabulary import Channel

from ..fields import validation_problem
from ..screening import FloodWindow, screen_submission
from ..topics import service as topics
from ..topics.index import TopicIndex, topic_text
from ..topics.models import Submission, Topic
from ..topics.schemas import (
    CHANNEL_FIELDS,
    SPECIFIC_FIELDS,
    JoinedAs,
    ModerationDecision,
    PublicReceipt,
    PublicSubmissionCreate,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
    SubmissionStatus,
    reasons_json,
)
from . import rate_limits

log = structlog.get_logger()

SOFT_LIMITS = FloodWindow()
LOOKBACK = timedelta(days=1)


def check_channel_fields(data: SubmissionCreate) -> None:
    """Each channel names who submitted it; fields of other channels are refused."""
    rules = CHANNEL_FIELDS[data.channel]
    errors = []
    for name in SPECIFIC_FIELDS:
        value = getattr(data, name)
        if rules.get(name) and value is None:
            errors.append({"field": name, "rule": "missing", "message": f"required for channel {data.channel.value}"})
        elif name not in rules and value is not None:
            errors.append(
                {"field": name, "rule": "not_allowed_for_channel", "message": f"not a field of channel {data.channel.value}"}
            )
    if errors:
        raise validation_problem(errors)


def _new_submission(channel: str, title: str, content: str, principal: Principal, **fields: object) -> Submission:
    return Submission(
        channel=channel,
        status=SubmissionStatus.ACCEPTED.value,
        title_raw=title,
        content_raw=content,
        title_normalised=normalise_for_matching(title),
        content_normalised=normalise_for_matching(content),
        submitted_by=principal.subject,
        received_at=utcnow(),
        **fields,
    )


async def receive(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    data: SubmissionCreate,
    principal: Principal,
) -> Submission:
    """A submission the office registers for any channel."""
    check_channel_fields(data)
    fields = {name: getattr(data, name) for name in SPECIFIC_FIELDS}
    submission = _new_submission(data.channel.value, data.title, data.content, principal, **fields)
    # The office's own entries are not spam-screened (fields.py refuses garbled text).
    return await attach(session, temporal, settings, index, submission, principal, allow_join=not data.new_topic)


async def attach(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    submission: Submission,
    principal: Principal,
    *,
    allow_join: bool = True,
    content: str | None = None,
) -> Submission:
    """Join the most similar open topic as a supporter, or open a new topic.
    ``content`` replaces the received text for matching (a moderator's repair)."""
    content = content or submission.content_raw
    match = await index.best_open_match(session, topic_text(submission.title_raw, content)) if allow_join else None
    submission.status = SubmissionStatus.ACCEPTED.value
    if match is None:
        await topics.open_topic(
            session, temporal, settings, index, submission, registered_by=principal.subject, content=content
        )
        return submission
    topic_id, similarity = match
    submission.topic_id = topic_id
    submission.joined_as = JoinedAs.DUPLICATE.value
    submission.similarity = similarity
    session.add(submission)
    await session.commit()
    log.info("submission.joined_topic", submission_id=submission.id, topic_id=topic_id, similarity=similarity)
    return submission


def client_key(address: str | None) -> str | None:
    return hashlib.sha256(address.encode()).hexdigest() if address else None


async def _recent(session: AsyncSession, column, value: str | None, now: datetime) -> list[datetime]:
    if value is None:
        return []
    return list(
        (await session.scalars(select(Submission.received_at).where(column == value, Submission.received_at > now - LOOKBACK))).all()
    )


async def receive_public(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    data: PublicSubmissionCreate,
    principal: Principal,
    client_address: str | None,
) -> tuple[Submission, bool]:
    """网上征集. Returns the submission and whether it went to moderation."""
    now = utcnow()
    address_key = client_key(client_address)
    refused = await rate_limits.count_request(session, now, address=client_address, resident=principal.subject)
    if refused is not None:
        retry = refused.retry_after_seconds
        log.info("submission.rate_limited", identity=refused.identity, limit=refused.limit.max_count)
        raise Problem(
            429,
            "Too Many Requests",
            f"Too many submissions from this {'resident' if refused.identity == 'resident' else 'address'} "
            f"(more than {refused.limit.max_count} within {refused.limit.per}); retry in {retry} s. "
            "提交过于频繁，请稍后再试。",
            headers={"Retry-After": str(retry)},
            retry_after_seconds=retry,
        )
    by_submitter = await _recent(session, Submission.submitted_by, principal.subject, now)
    by_address = await _recent(session, Submission.client_key, address_key, now)
    submission = _new_submission(
        Channel.PUBLIC_ONLINE.value,
        data.title,
        data.content,
        principal,
        submitter_name=data.submitter_name,
        contact=data.contact,
        client_key=address_key,
    )
    submission.received_at = now
    # Screen the text as received: a repairable mojibake is offered to the moderator.
    screening = screen_submission(data.content, title=data.title)
    reasons = reasons_json(screening.reasons)
    flood = [SOFT_LIMITS.check(recent, now) for recent in (by_submitter, by_address)]
    for decision in flood:
        if decision.exceeded and decision.limit is not None:
            reasons.append(
                {"code": "flood", "weight": 1.0, "detail": f"{decision.count_in_window} within {decision.limit.per}"}
            )
            break
    submission.spam_score = round(screening.spam_score, 3)
    submission.screening_reasons = reasons
    if screening.verdict == "moderate" or any(d.exceeded for d in flood):
        submission.status = SubmissionStatus.HELD.value
        submission.repaired_text = screening.repaired_text
        session.add(submission)
        await session.commit()
        log.info("submission.held", submission_id=submission.id, reasons=[r["code"] for r in reasons])
        return submission, True
    await attach(session, temporal, settings, index, submission, principal)
    return submission, False


def receipt(submission: Submission, held: bool) -> PublicReceipt:
    return PublicReceipt(
        submission_id=submission.id, status="in_review" if held else "received", topic_id=None if held else submission.topic_id
    )


async def public_status(session: AsyncSession, submission_id: int, principal: Principal) -> PublicReceipt:
    """What became of a resident's own submission (someone else's is 'not found')."""
    submission = await session.get(Submission, submission_id)
    if submission is None or submission.submitted_by != principal.subject or submission.channel != Channel.PUBLIC_ONLINE.value:
        raise Problem(404, "Not Found", f"No submission {submission_id} of yours.")
    status = {SubmissionStatus.HELD.value: "in_review", SubmissionStatus.REJECTED.value: "not_accepted"}.get(
        submission.status, "received"
    )
    topic = await session.get(Topic, submission.topic_id) if submission.topic_id else None
    # A merged topic's supporters now stand behind the topic it was merged into.
    while topic is not None and topic.merged_into_id is not None:
        topic = await session.get(Topic, topic.merged_into_id)
    return PublicReceipt(
        submission_id=submission.id,
        status=status,
        topic_id=topic.id if topic else None,
        topic_stage=topic.stage if topic else None,
    )


async def get_submission(session: AsyncSession, submission_id: int) -> Submission:
    submission = await session.get(Submission, submission_id)
    if submission is None:
        raise Problem(404, "Not Found", f"No submission with id {submission_id}.")
    return submission


async def list_submissions(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    topic_id: int | None,
    channel: str | None,
    after: int | None,
    limit: int,
) -> SubmissionPage:
    filters = []
    if status:
        filters.append(Submission.status == status)
    if topic_id is not None:
        filters.append(Submission.topic_id == topic_id)
    if channel:
        filters.append(Submission.channel == channel)
    page = await keyset_page(session, Submission, filters, after=after, limit=limit)
    return SubmissionPage(
        items=[SubmissionRead.model_validate(s).for_role(principal.role) for s in page.rows],
        total=page.total,
        next_after=page.next_after,
    )


async def _held(session: AsyncSession, submission_id: int) -> Submission:
    submission = await get_submission(session, submission_id)
    if submission.status != SubmissionStatus.HELD.value:
        raise Problem(409, "Conflict", f"Submission {submission_id} is {submission.status}, not in the moderation queue.")
    return submission


async def release(
    session: AsyncSession,
    temporal: Client | None,
    settings: Settings,
    index: TopicIndex,
    submission_id: int,
    data: ModerationDecision,
    principal: Principal,
) -> Submission:
    """A moderator lets a held submission into the normal flow."""
    submission = await _held(session, submission_id)
    content = submission.content_raw
    if data.use_repaired_text:
        if not submission.repaired_text:
            raise Problem(409, "Conflict", "Screening offered no repaired text for this submission.")
        # content_raw keeps what was received; matching, search and the topic use the repair.
        content = submission.repaired_text
        submission.content_normalised = normalise_for_matching(content)
    submission.moderated_by = principal.subject
    submission.moderated_at = utcnow()
    submission.moderation_note = data.note
    await attach(session, temporal, settings, index, submission, principal, content=content)
    log.info("submission.released", submission_id=submission.id, topic_id=submission.topic_id)
    return submission


async def reject(session: AsyncSession, submission_id: int, data: ModerationDecision, principal: Principal) -> Submission:
    """A moderator rejects a held submission: it stays stored, with the reason."""
    submission = await _held(session, submission_id)
    if not data.note:
        raise validation_problem([{"field": "note", "rule": "missing", "message": "a rejection needs a reason"}])
    submission.status = SubmissionStatus.REJECTED.value
    submission.moderated_by = principal.subject
    submission.moderated_at = utcnow()
    submission.moderation_note = data.note
    await session.commit()
    log.info("submission.rejected", submission_id=submission.id)
    return submission


async def move_submission(session: AsyncSession, submission_id: int, topic_id: int) -> Submission:
    """Staff attach a submission to another open topic by hand."""
    submission = await get_submission(session, submission_id)
    target = await topics.get_topic(session, topic_id)
    if target.stage not in ("submitted", "accepted"):
        raise Problem(409, "Conflict", f"Topic {topic_id} is {target.stage}; submissions join open topics only.")
    if submission.status != SubmissionStatus.ACCEPTED.value:
        raise Problem(409, "Conflict", f"Submission {submission_id} is {submission.status}; release it first.")
    remaining = await session.scalar(
        select(Submission.id).where(Submission.topic_id == submission.topic_id, Submission.id != submission.id).limit(1)
    )
    if remaining is None and submission.topic_id != topic_id:
        raise Problem(409, "Conflict", "This is the topic's only submission: merge the topic instead.")
    submission.topic_id = topic_id
    submission.joined_as = JoinedAs.MOVED.value
    await session.commit()
    return submission

