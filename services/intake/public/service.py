"""The public page's read model (答复公开): intake's plan and topics, talent's draw
announcements and evaluation's commitments, put together for anyone to read.

Intake answers from its own records; draws and commitments are read over HTTP from the
services that own them (``GET /public/draws`` at talent, ``GET /public/commitments`` at
evaluation, both without personal data). A service that does not answer leaves its
section ``available: false``: the page says so, it never fails for it.

Nothing personal leaves here: titles and published texts go through
``scrub_personal_data``; submitters, contacts and residents' texts are never read.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.problems import Problem
from services.common.redact import scrub_personal_data
from services.common.service_client import ServiceCallError, ServiceClient

from ..decisions import plan_rules
from ..decisions.models import Decision
from ..meetings.models import Meeting
from ..reference.models import Organiser, Venue
from ..residents.models import Cosign
from ..residents.service import merged_family
from ..topics.models import Submission, Topic
from ..topics.schemas import SubmissionStatus
from .schemas import (
    PublicCommitment,
    PublicCommitments,
    PublicDrawAnnouncement,
    PublicDraws,
    PublicMeeting,
    PublicPlan,
    PublicPlanEntry,
    PublicReply,
    PublicTopic,
    PublicVenue,
)

log = structlog.get_logger()

COUNTY_TIME = timezone(timedelta(hours=8))

FORMAT_NAMES = {
    "plenary": "全委会议",
    "standing_committee": "常委会协商会议",
    "special_topic": "专题协商会议",
    "sector_micro": "界别或小微协商",
}
# 1+2+4+X: how many of each a year's plan holds.
FORMAT_TARGETS = {"plenary": "1", "standing_committee": "2", "special_topic": "4", "sector_micro": "X"}
STAGE_NAMES = {
    "submitted": "已收到，待遴选",
    "accepted": "已列入年度协商计划",
    "rejected": "未列入计划",
    "merged": "已并案办理",
    "research": "调研中",
    "drawing": "抽选参会人员",
    "inviting": "邀请参会人员",
    "meeting": "协商议事会",
    "follow_up": "成果办理跟踪",
    "evaluation": "双向评价",
    "closed": "已办结",
    "pending": "登记中",
}
CHANNEL_NAMES = {
    "party_committee_assigned": "县委交题",
    "government_requested": "政府点题",
    "member_recommended": "委员荐题",
    "sector_proposal": "界别提案",
    "town_liaison_proposal": "镇（街道）联络组提案",
    "member_proposal": "委员提案",
    "public_online": "网上征集",
}
COMMITMENT_STATUS_NAMES = {
    "open": "办理中",
    "active": "办理中",
    "in_progress": "办理中",
    "pending": "待交办",
    "assigned": "已交办",
    "reported": "已报告进展",
    "replied": "已答复",
    "extended": "已延期",
    "overdue": "已逾期",
    "escalated": "督办中",
    "reopened": "重新办理",
    "completed": "已完成，待验收",
    "verified": "已验收",
    "done": "已办结",
    "closed": "已办结",
    "cancelled": "已撤销",
}
REPLY_CLASS_NAMES = {
    "A": "A类：已解决或采纳",
    "B": "B类：正在解决，解决后再次答复",
    "C": "C类：列入计划逐步解决",
    "D": "D类：留作参考",
}
RATING_NAMES = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "unsatisfied": "不满意",
    "count": "评价数",
    "total": "评价数",
    "ratings": "评价数",
}
DRAW_STATUS_NAMES = {"announced": "已公告，待揭晓", "drawn": "已揭晓", "void": "已作废", "committed": "已公告"}
VENUE_KIND_NAMES: dict[str, str] = {}


def this_year() -> int:
    return datetime.now(COUNTY_TIME).year


def _title(text: str) -> str:
    return scrub_personal_data(text)


def _venue(venue: Venue | None) -> PublicVenue | None:
    return PublicVenue(name=venue.name, kind=venue.kind) if venue is not None else None


async def read_plan(session: AsyncSession, year: int) -> PublicPlan:
    """The year's plan on the 1+2+4+X platform: each consultation, its stage and venue."""
    rows = (
        await session.execute(
            select(Decision, Topic, Organiser, Venue)
            .join(Topic, Topic.id == Decision.topic_id)
            .join(Organiser, Organiser.id == Decision.organiser_id)
            .outerjoin(Venue, Venue.id == Decision.venue_id)
            .where(Decision.outcome == "accepted", Decision.plan_year == year, Decision.delivery != "pending")
            .order_by(Decision.planned_month.is_(None), Decision.planned_month, Decision.topic_id)
        )
    ).all()
    entries = [
        PublicPlanEntry(
            topic_id=topic.id,
            title=_title(topic.title),
            format=decision.format,
            format_name=FORMAT_NAMES.get(decision.format, decision.format),
            organiser_name=organiser.name,
            venue=_venue(venue),
            planned_month=decision.planned_month,
            stage=topic.stage,
            stage_name=STAGE_NAMES.get(topic.stage, topic.stage),
        )
        for decision, topic, organiser, venue in rows
    ]
    formats = [e.format for e in entries]
    warnings, errors = plan_rules.check(formats)
    return PublicPlan(year=year, counts=plan_rules.counts(formats), complete=not warnings and not errors,
                      entries=entries)


def _client(app: FastAPI) -> ServiceClient:
    client = getattr(app.state, "public_service_client", None)
    if client is None:
        client = app.state.public_service_client = ServiceClient(app.state.settings)
    return client


async def _read(app: FastAPI, service: str, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """Another service's public answer, or None when it does not answer (logged)."""
    try:
        body = await _client(app).get_json(service, path, params=params)  # type: ignore[arg-type]
    except (ServiceCallError, httpx.HTTPError, ValueError) as exc:
        log.info("public_page.section_unavailable", service=service, path=path, error=type(exc).__name__,
                 status=getattr(exc, "status", None))
        return None
    return body if isinstance(body, dict) else None


async def read_draws(app: FastAPI, topic_id: int) -> PublicDraws:
    body = await _read(app, "talent", "/public/draws", {"consultation_id": topic_id, "limit": 50})
    if body is None:
        return PublicDraws(available=False)
    items = []
    for raw in body.get("items", []):
        try:
            items.append(PublicDrawAnnouncement.model_validate(raw))
        except ValueError:
            log.info("public_page.draw_skipped", topic_id=topic_id)
    return PublicDraws(available=True, items=items)


def _reply(raw: dict[str, Any]) -> PublicReply:
    reply_class = raw.get("reply_class")
    text = raw.get("text") or ""
    return PublicReply(
        reply_class=reply_class,
        reply_class_name=REPLY_CLASS_NAMES.get(str(reply_class), reply_class),
        published_at=raw.get("published_at"),
        text=scrub_personal_data(text) if isinstance(text, str) else "",
        disclosure=raw.get("disclosure"),
    )


def _commitment(raw: dict[str, Any]) -> PublicCommitment:
    status = str(raw.get("status") or "open")
    satisfaction = raw.get("satisfaction") or {}
    return PublicCommitment(
        id=int(raw["id"]),
        lead_department=str(raw.get("lead_department") or raw.get("department") or ""),
        co_handlers=[str(c.get("department", c)) if isinstance(c, dict) else str(c)
                     for c in raw.get("co_handlers") or []],
        content=scrub_personal_data(str(raw.get("content") or "")),
        due_at=raw.get("due_at"),
        due_in_working_days=raw.get("due_in_working_days"),
        status=status,
        status_name=COMMITMENT_STATUS_NAMES.get(status, status),
        escalation_level=int(raw.get("escalation_level") or 0),
        reopened_count=int(raw.get("reopened_count") or 0),
        replies=[_reply(r) for r in raw.get("replies") or [] if isinstance(r, dict)],
        satisfaction={k: v for k, v in satisfaction.items() if isinstance(v, dict)} if isinstance(satisfaction, dict)
        else {},
    )


async def read_commitments(app: FastAPI, topic_id: int) -> PublicCommitments:
    items: list[PublicCommitment] = []
    cursor: str | None = None
    for _ in range(10):  # at most 10 pages of 50: a consultation has a handful of commitments
        params: dict[str, Any] = {"topic_id": topic_id, "limit": 50}
        if cursor:
            params["cursor"] = cursor
        body = await _read(app, "evaluation", "/public/commitments", params)
        if body is None:
            return PublicCommitments(available=False)
        for raw in body.get("items", []):
            try:
                items.append(_commitment(raw))
            except (KeyError, TypeError, ValueError):
                log.info("public_page.commitment_skipped", topic_id=topic_id)
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return PublicCommitments(available=True, items=items)


async def read_topic(session: AsyncSession, app: FastAPI, topic_id: int) -> PublicTopic:
    """One consultation as the public sees it. A rejected topic is not public."""
    topic = await session.get(Topic, topic_id)
    if topic is None or topic.stage == "rejected":
        raise Problem(404, "Not Found", f"No public topic with id {topic_id}.")
    decision = await session.scalar(select(Decision).where(Decision.topic_id == topic_id,
                                                           Decision.outcome == "accepted"))
    organiser = await session.get(Organiser, decision.organiser_id) if decision and decision.organiser_id else None
    venue = await session.get(Venue, decision.venue_id) if decision and decision.venue_id else None
    meeting = await session.scalar(select(Meeting).where(Meeting.topic_id == topic_id).order_by(Meeting.id.desc()))
    meeting_venue = await session.get(Venue, meeting.venue_id) if meeting and meeting.venue_id else None
    family = await merged_family(session, topic_id)
    supporters = await session.scalar(
        select(func.count()).select_from(Submission).where(
            (Submission.topic_id.in_(family)) | (Submission.merged_from_topic_id.in_(family)),
            Submission.status == SubmissionStatus.ACCEPTED.value)) or 0
    cosigners = await session.scalar(
        select(func.count(func.distinct(Cosign.resident))).where(Cosign.topic_id.in_(family))) or 0
    fmt = decision.format if decision else None
    has_lifecycle = topic.stage not in ("submitted", "merged", "pending")
    return PublicTopic(
        topic_id=topic.id,
        title=_title(topic.title),
        channel=topic.channel,
        channel_name=CHANNEL_NAMES.get(topic.channel, topic.channel),
        stage=topic.stage,
        stage_name=STAGE_NAMES.get(topic.stage, topic.stage),
        merged_into_topic_id=topic.merged_into_id,
        plan_year=decision.plan_year if decision else None,
        format=fmt,
        format_name=FORMAT_NAMES.get(fmt, fmt) if fmt else None,
        organiser_name=organiser.name if organiser else None,
        venue=_venue(venue),
        planned_month=decision.planned_month if decision else None,
        meeting=PublicMeeting(held_at=meeting.held_at, venue=_venue(meeting_venue)) if meeting else None,
        supporters=supporters,
        cosigners=cosigners,
        draws=await read_draws(app, topic_id) if has_lifecycle else PublicDraws(available=True),
        commitments=await read_commitments(app, topic_id) if has_lifecycle else PublicCommitments(available=True),
    )
