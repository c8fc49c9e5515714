"""Activities: the only place workflows reach the services, always over HTTP.

Every activity that writes sends an idempotency key, so a retry after a lost answer
records nothing twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.service_client import ServiceCallError, ServiceClient
from services.common.settings import ServiceName

from .lifecycle_types import DrawQuota

# The group of everyone behind a topic (intake: GET /topics/{id}/submitters).
SUBMITTERS_GROUP = re.compile(r"^submitters:topic-(\d+)$")

# A commitment "due" on a date is due at the end of that working day, Beijing time.
END_OF_WORKING_DAY = time(17, 30, tzinfo=timezone(timedelta(hours=8)))


@dataclass
class RecordEventInput:
    event_key: str  # idempotency key: the same key is recorded once
    kind: str
    topic_id: int
    occurred_at: str  # ISO 8601, from workflow.now()
    detail: dict[str, Any] = field(default_factory=dict)


class ConsultationActivities:
    def __init__(self, services: ServiceClient) -> None:
        self._services = services

    async def _post(self, service: ServiceName, path: str, body: Any, idempotency_key: str) -> Any:
        return await self._send(service, "POST", path, body, idempotency_key)

    async def _send(self, service: ServiceName, method: str, path: str, body: Any, idempotency_key: str | None) -> Any:
        try:
            return await self._services.request(service, method, path, json=body, idempotency_key=idempotency_key)
        except ServiceCallError as exc:
            # A request the service refuses will be refused again: fail fast so the
            # operator sees it, instead of retrying forever.
            raise ApplicationError(str(exc), type="ServiceRefused", non_retryable=not exc.retryable) from exc

    @activity.defn
    async def record_consultation_event(self, params: RecordEventInput) -> int:
        """Record a consultation event in evaluation; returns its id there."""
        body = await self._post(
            "evaluation",
            "/events",
            {
                "event_key": params.event_key,
                "kind": params.kind,
                "topic_id": params.topic_id,
                "occurred_at": params.occurred_at,
                "detail": params.detail,
            },
            idempotency_key=params.event_key,
        )
        return int(body["id"])


# ---------------------------------------------------------------- the lifecycle
@dataclass
class PublicValueAnnouncement:
    """The public random value a draw will mix in, announced before it exists."""

    source: str  # e.g. "中国福利彩票双色球开奖号码, the first draw after 2026-12-02 13:30 UTC"
    at: str  # ISO 8601: when it becomes public; the reveal is refused before
    format: str  # lottery | beacon (services/common/public_values.py)


@dataclass
class DrawRequest:
    topic_id: int
    round: int
    composition: dict[str, int]
    expertise: list[str] = field(default_factory=list)
    exclude_departments: list[str] = field(default_factory=list)
    # None (histories before announced draws): drawn at once with no public value
    announce: PublicValueAnnouncement | None = None
    # the consultation's own quotas (kind-scoped ones too); talent carries them into
    # every replacement round
    quotas: list[DrawQuota] = field(default_factory=list)


@dataclass
class ReplacementRequest:
    topic_id: int
    draw_id: int
    round: int
    declined: list[int]
    announce: PublicValueAnnouncement | None = None


@dataclass
class RevealRequest:
    topic_id: int
    draw_id: int
    round: int
    public_randomness: str


@dataclass
class DrawResult:
    draw_id: int
    round: int
    panel: list[int]  # person ids: the whole panel after this round (empty while announced)
    drawn: list[int]  # person ids invited in this round
    portfolio_hash: str = ""
    commitment: str = ""


@dataclass
class HandOverRequest:
    topic_id: int
    meeting_id: int
    organiser: str | None
    plan_year: int | None
    follow_up_policy: str  # production | seconds
    seconds_scale: float = 1.0


@dataclass
class TopicStage:
    topic_id: int
    stage: str


@dataclass
class NoticeRequest:
    idempotency_key: str
    kind: str
    recipients: list[str]
    payload: dict[str, Any]


def _draw_result(body: dict[str, Any]) -> DrawResult:
    return DrawResult(draw_id=int(body["id"]), round=int(body["round"]), panel=list(body["panel"]),
                      drawn=list(body["drawn"]), portfolio_hash=str(body.get("portfolio_hash", "")),
                      commitment=str(body.get("commitment", "")))


def _announcement_fields(announce: PublicValueAnnouncement | None) -> dict[str, Any]:
    if announce is None:
        return {}
    return {"public_randomness_source": announce.source, "public_randomness_at": announce.at,
            "public_randomness_format": announce.format}


class LifecycleActivities(ConsultationActivities):
    """Activities of a consultation after the chair's decision."""

    @activity.defn
    async def draw_participants(self, request: DrawRequest) -> DrawResult:
        """First draw of the consultation's participants (talent: fair, verifiable)."""
        return await self._draw_round(request.topic_id, request.round, "/draws", {
            "consultation_id": request.topic_id,
            "round": request.round,
            "composition": request.composition,
            "expertise": request.expertise,
            "exclude_departments": request.exclude_departments,
            **_announcement_fields(request.announce),
            **({"quotas": [asdict(q) for q in request.quotas]} if request.quotas else {}),
        })

    @activity.defn
    async def draw_replacements(self, request: ReplacementRequest) -> DrawResult:
        """A replacement round for declined or silent invitees, keeping the quotas."""
        return await self._draw_round(
            request.topic_id, request.round, f"/draws/{request.draw_id}/replacements",
            {"round": request.round, "declined": request.declined, **_announcement_fields(request.announce)},
        )

    async def _draw_round(self, topic_id: int, round_: int, path: str, body: dict[str, Any]) -> DrawResult:
        """One round of a draw at talent (the first or a replacement); an announced one is
        news for everyone behind the topic."""
        # talent makes (consultation, round) unique: a retry returns the same draw
        drawn = await self._post("talent", path, body, idempotency_key=f"draw-{topic_id}-{round_}")
        await self._tell_if_announced(topic_id, drawn)
        return _draw_result(drawn)

    @activity.defn
    async def reveal_draw(self, request: RevealRequest) -> DrawResult:
        """Phase 2 of an announced draw: the public value staff entered, once it is public."""
        body = await self._post(
            "talent",
            f"/draws/{request.draw_id}/reveal",
            {"public_randomness": request.public_randomness},
            idempotency_key=f"reveal-{request.topic_id}-{request.round}",
        )
        return _draw_result(body)

    @activity.defn
    async def hand_over_commitments(self, request: HandOverRequest) -> list[int]:
        """The meeting's commitments (承诺) to evaluation, which starts a FollowUpWorkflow
        for each; returns the commitment ids there."""
        meeting = await self._services.get_json("intake", f"/meetings/{request.meeting_id}")
        ids = []
        for commitment in meeting["commitments"]:
            due = datetime.combine(date.fromisoformat(commitment["due_date"]), END_OF_WORKING_DAY)
            if request.follow_up_policy == "seconds":
                # Demo scale: as many "days" from the hand-over as the date is from its day.
                # "Now" is when the activity was first scheduled, the same on every retry,
                # so a retried hand-over sends the same body under the same
                # Idempotency-Key (a different body would be refused with 422).
                now = _first_scheduled_at()
                today = now.astimezone(END_OF_WORKING_DAY.tzinfo).date()
                days = (date.fromisoformat(commitment["due_date"]) - today).days
                due = now + timedelta(seconds=days * request.seconds_scale)
            body = await self._post(
                "evaluation",
                "/commitments",
                {
                    "consultation_topic_id": request.topic_id,
                    "department": commitment["owner_department"],
                    "content": commitment["content"],
                    "due_at": due.isoformat(),
                    "organiser": request.organiser,
                    "plan_year": request.plan_year,
                    "policy": request.follow_up_policy,
                    "seconds_scale": request.seconds_scale,
                },
                idempotency_key=f"meeting-{request.meeting_id}-commitment-{commitment['id']}",
            )
            ids.append(int(body["id"]))
        return ids

    @activity.defn
    async def mirror_topic_stage(self, request: TopicStage) -> None:
        """Intake keeps a copy of the stage for its listings; setting it is idempotent."""
        await self._send("intake", "PUT", f"/topics/{request.topic_id}/stage", {"stage": request.stage}, None)

    async def _tell_if_announced(self, topic_id: int, draw: dict[str, Any]) -> None:
        """An announced draw (issue 11: status "announced", the panel to come once the
        public value is known) is news for everyone behind the topic: a ``draw.announced``
        notice to its submitters (each by name, below) and the office, once per draw. The
        payload carries ids and the time only; the hashes are on the public page (a hex
        hash can hold a run of digits the outbox would take for a phone number)."""
        if draw.get("status") != "announced":
            return
        payload: dict[str, Any] = {"topic_id": topic_id, "draw_id": int(draw["id"]), "round": int(draw.get("round", 0))}
        if draw.get("public_randomness_at"):
            payload["public_randomness_at"] = str(draw["public_randomness_at"])
        await self.send_notice(NoticeRequest(
            idempotency_key=f"topic-{topic_id}-draw-{draw['id']}-announced", kind="draw.announced",
            recipients=[f"submitters:topic-{topic_id}", "role:clerk"], payload=payload))

    @activity.defn
    async def send_notice(self, request: NoticeRequest) -> None:
        """A notice through evaluation's outbox (webhooks), once per idempotency key.

        A notice to ``submitters:topic-<id>`` also goes to each of them by name: intake
        lists everyone behind the topic (every submitter of every submission merged into
        it, 并案, and every co-signer, 联名), and each gets a notice of their own, keyed by
        the notice's key and the recipient, so a retry adds whoever is missing and sends
        nobody a second one."""
        await self._post(
            "evaluation",
            "/notifications",
            {"kind": request.kind, "recipients": request.recipients, "payload": request.payload},
            idempotency_key=request.idempotency_key,
        )
        for group in request.recipients:
            match = SUBMITTERS_GROUP.match(group)
            if match is None:
                continue
            try:
                found = await self._services.get_json("intake", f"/topics/{match.group(1)}/submitters")
            except ServiceCallError as exc:
                raise ApplicationError(str(exc), type="ServiceRefused", non_retryable=not exc.retryable) from exc
            for recipient in found["recipients"]:
                digest = hashlib.sha256(recipient.encode()).hexdigest()[:24]
                await self._post(
                    "evaluation",
                    "/notifications",
                    {"kind": request.kind, "recipients": [recipient], "payload": {**request.payload, "via": group}},
                    idempotency_key=f"{request.idempotency_key}:to-{digest}",
                )


def _first_scheduled_at() -> datetime:
    """When the running activity's first attempt was scheduled (now, outside an activity)."""
    try:
        scheduled = activity.info().scheduled_time
    except RuntimeError:
        return datetime.now(timezone.utc)
    return scheduled if scheduled.tzinfo else scheduled.replace(tzinfo=timezone.utc)
