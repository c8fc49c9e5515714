"""Residents on the public page: a device-bound session, co-signatures (联名), and
everyone who stands behind a topic (its submitters, merged ones included, and its
co-signers), so that every one of them hears what becomes of it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, device_fingerprint, mint_token
from services.common.db import utcnow
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.vocabulary import Channel

from ..submissions import rate_limits
from ..topics.models import Submission, Topic
from ..topics.schemas import SubmissionStatus
from .identity import IdentityProvider, SignIn
from .models import Cosign
from .schemas import CosignRead, SessionCreate, SessionRead, SubmittersRead

log = structlog.get_logger()

# Topics a resident may co-sign: everything still heading somewhere.
NOT_COSIGNABLE = ("rejected", "closed")


def _too_many(refused: rate_limits.Refusal, what: str) -> Problem:
    retry = refused.retry_after_seconds
    return Problem(
        429, "Too Many Requests",
        f"Too many {what} from this {refused.identity} (more than {refused.limit.max_count} within "
        f"{refused.limit.per}); retry in {retry} s. 操作过于频繁，请稍后再试。",
        headers={"Retry-After": str(retry)}, retry_after_seconds=retry,
    )


async def open_session(
    session: AsyncSession, settings: Settings, provider: IdentityProvider, data: SessionCreate, address: str | None
) -> SessionRead:
    """A public token for this device, once the provider says who the resident is."""
    device = device_fingerprint(data.device_id)
    refused = await rate_limits.count_request(session, utcnow(), address=address, resident=device,
                                              purpose="session", limits=rate_limits.SESSION_LIMITS)
    if refused is not None:
        log.info("public_session.rate_limited", identity=refused.identity)
        raise _too_many(refused, "sign-ins")
    subject = await provider.subject(SignIn(device_id=data.device_id, code=data.code))
    ttl = settings.public_session_ttl_seconds
    token = mint_token(settings, role=Role.PUBLIC, subject=subject, ttl_seconds=ttl, device=device)
    return SessionRead(token=token, expires_at=utcnow() + timedelta(seconds=ttl), provider=provider.name,
                       resident=subject)


async def root_topic(session: AsyncSession, topic_id: int) -> Topic:
    """The topic, or the one it was merged into (and so on)."""
    topic = await session.get(Topic, topic_id)
    if topic is None:
        raise Problem(404, "Not Found", f"No topic with id {topic_id}.")
    seen = {topic.id}
    while topic.merged_into_id is not None and topic.merged_into_id not in seen:
        target = await session.get(Topic, topic.merged_into_id)
        if target is None:
            break
        topic = target
        seen.add(topic.id)
    return topic


def _insert(session: AsyncSession):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


async def cosign(session: AsyncSession, topic_id: int, principal: Principal, address: str | None) -> tuple[CosignRead, bool]:
    """The resident co-signs the topic (or the topic it was merged into). Idempotent per
    resident: a second co-signature answers the first. Returns it and whether it is new."""
    refused = await rate_limits.count_request(session, utcnow(), address=address, resident=principal.subject,
                                              purpose="cosign", limits=rate_limits.COSIGN_LIMITS)
    if refused is not None:
        raise _too_many(refused, "co-signatures")
    topic = await root_topic(session, topic_id)
    if topic.stage in NOT_COSIGNABLE:
        raise Problem(409, "Conflict", f"Topic {topic.id} is {topic.stage}: it takes no more co-signatures.",
                      stage=topic.stage)
    # INSERT ... ON CONFLICT DO NOTHING: two taps at once make one co-signature.
    statement = _insert(session)(Cosign).values(topic_id=topic.id, resident=principal.subject, signed_at=utcnow())
    new_id = await session.scalar(
        statement.on_conflict_do_nothing(index_elements=[Cosign.topic_id, Cosign.resident]).returning(Cosign.id)
    )
    await session.commit()
    record = await session.scalar(select(Cosign).where(Cosign.topic_id == topic.id, Cosign.resident == principal.subject))
    assert record is not None
    count = await session.scalar(select(func.count()).select_from(Cosign).where(Cosign.topic_id == topic.id)) or 0
    if new_id is not None:
        log.info("topic.cosigned", topic_id=topic.id, cosigners=count)
    return CosignRead(topic_id=topic.id, cosigners=count, signed_at=record.signed_at), new_id is not None


_PLAIN_SUBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,89}$")
_LONG_DIGITS = re.compile(r"\d{7,}")


def resident_recipient(subject: str) -> str:
    """``resident:<subject>`` for the outbox; a subject the outbox would refuse (odd
    characters, or digits that could pass for a phone number) goes as its hash."""
    if _PLAIN_SUBJECT.match(subject) and not _LONG_DIGITS.search(subject):
        return f"resident:{subject}"
    return "resident:sha256-" + hashlib.sha256(subject.encode()).hexdigest()[:40]


async def merged_family(session: AsyncSession, topic_id: int) -> list[int]:
    """The topic and every topic merged into it, directly or through another."""
    family = [topic_id]
    frontier = [topic_id]
    while frontier:
        children = list((await session.scalars(
            select(Topic.id).where(Topic.merged_into_id.in_(frontier)).order_by(Topic.id))).all())
        frontier = [c for c in children if c not in family]
        family.extend(frontier)
    return family


async def topic_submitters(session: AsyncSession, topic_id: int) -> SubmittersRead:
    """Everyone who stands behind the topic: the submitters of every submission on it or
    on a topic merged into it (并案), and every co-signer (联名) of any of them. A merged
    topic's own submitters are found through ``merged_from_topic_id``, so the topic that
    was merged away still reaches exactly its own people."""
    if await session.get(Topic, topic_id) is None:
        raise Problem(404, "Not Found", f"No topic with id {topic_id}.")
    family = await merged_family(session, topic_id)
    submissions = list((await session.scalars(
        select(Submission)
        .where((Submission.topic_id.in_(family)) | (Submission.merged_from_topic_id.in_(family)))
        .where(Submission.status == SubmissionStatus.ACCEPTED.value)
        .order_by(Submission.id)
    )).all())
    cosigners = list((await session.scalars(
        select(Cosign.resident).where(Cosign.topic_id.in_(family)).order_by(Cosign.id))).all())
    recipients: list[str] = []
    for submission in submissions:
        if submission.channel == Channel.PUBLIC_ONLINE.value:
            recipients.append(resident_recipient(submission.submitted_by))
        else:
            recipients.append(f"submission:{submission.id}")
    recipients.extend(resident_recipient(resident) for resident in cosigners)
    return SubmittersRead(topic_id=topic_id, topics=family, recipients=list(dict.fromkeys(recipients)),
                          submissions=len(submissions), cosigners=len(set(cosigners)))
