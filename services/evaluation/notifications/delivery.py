"""The delivery loop: claim due deliveries, POST them, record the answer, back off.

At least once: a delivery is marked delivered only after its endpoint answered 2xx, so a
crash, a timeout or a lost answer means the same event (same ``event_id``) is sent again.
Receivers deduplicate on ``event_id`` (docs/notifications.md).

``deliver_due`` does one pass and is what tests drive (with their own ``now``);
``deliver_notifications`` is the BackgroundTask that calls it every few seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import utcnow

from .models import LAST_ERROR_MAX, Notification, NotificationDelivery, NotificationStatus
from .service import refresh_status

log = structlog.get_logger()

EVENT_ID_HEADER = "X-Xieshang-Event-Id"
SIGNATURE_HEADER = "X-Xieshang-Signature"
ATTEMPT_HEADER = "X-Xieshang-Attempt"
KIND_HEADER = "X-Xieshang-Event-Kind"
USER_AGENT = "xieshang-notifications/1"
SIGNING_KEY_FILE = "notification-signing.key"

PENDING = NotificationStatus.PENDING.value
DELIVERED = NotificationStatus.DELIVERED.value
FAILED = NotificationStatus.FAILED.value


@dataclass(frozen=True)
class NotificationConfig:
    """The notification settings. Read from ``Settings`` by :meth:`from_settings`, with
    these defaults for any field the settings do not (yet) have."""

    # endpoint name -> URL. The name is what the database and the API show: URLs of
    # chat robots (WeCom, DingTalk) carry access tokens.
    webhooks: Mapping[str, str] = field(default_factory=dict)
    signing_secret: str = ""
    poll_seconds: float = 5.0
    max_attempts: int = 30
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    batch_size: int = 50
    concurrency: int = 8

    @classmethod
    def from_settings(cls, settings: Any) -> NotificationConfig:
        if isinstance(settings, NotificationConfig):
            return settings
        defaults = cls()

        def get(name: str, default: Any) -> Any:
            value = getattr(settings, f"notification_{name}", None)
            return default if value is None else value

        return cls(
            webhooks=webhook_endpoints(get("webhooks", {})),
            signing_secret=get("signing_secret", "") or _generated_signing_key(settings),
            poll_seconds=float(get("poll_seconds", defaults.poll_seconds)),
            max_attempts=int(get("max_attempts", defaults.max_attempts)),
            backoff_seconds=float(get("backoff_seconds", defaults.backoff_seconds)),
            backoff_max_seconds=float(get("backoff_max_seconds", defaults.backoff_max_seconds)),
            timeout_seconds=float(get("timeout_seconds", defaults.timeout_seconds)),
            batch_size=int(get("batch_size", defaults.batch_size)),
        )

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is left alone before another pass may take it over
        (the process that claimed it has died, or its request hangs)."""
        return timedelta(seconds=self.timeout_seconds + 60)


def webhook_endpoints(value: Mapping[str, str] | list[str] | tuple[str, ...]) -> dict[str, str]:
    """``{"name": "url"}`` as configured; a plain list of URLs gets names derived from a
    hash of each URL (stable under reordering, no token shown)."""
    if isinstance(value, Mapping):
        endpoints = {str(k): str(v) for k, v in value.items()}
    else:
        endpoints = {"webhook-" + hashlib.sha256(url.encode()).hexdigest()[:10]: url for url in value}
    for name, url in endpoints.items():
        if not name or len(name) > 100:
            raise ValueError(f"webhook name {name!r}: 1 to 100 characters")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"webhook {name!r}: not an http(s) URL")
    return endpoints


def _generated_signing_key(settings: Any) -> str:
    """Embedded mode: a key generated once under data_dir (like the JWT key)."""
    data_dir = getattr(settings, "data_dir", None)
    if not data_dir:
        raise ValueError("notification_signing_secret is empty and there is no data_dir to keep a generated one")
    path = Path(data_dir) / SIGNING_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


# --- the wire format --------------------------------------------------------------------


def body_for(notification: Notification) -> bytes:
    """The JSON body, byte for byte the same on every attempt."""
    document = {
        "event_id": notification.event_id,
        "kind": notification.kind,
        "recipients": list(notification.recipients),
        "payload": notification.payload,
        "created_at": notification.created_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """What a receiver does (constant-time comparison over the raw body)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def backoff_delay(attempts: int, config: NotificationConfig, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: base·2^(n-1), capped,
    with "equal jitter" (between half and all of it), so receivers coming back up are not
    hit by every replica at once."""
    exponent = min(max(attempts - 1, 0), 62)
    delay = min(config.backoff_max_seconds, config.backoff_seconds * (2.0**exponent))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


# --- one pass ---------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    planned: int = 0  # notifications that got their per-endpoint deliveries
    claimed: int = 0  # deliveries attempted in this pass
    delivered: int = 0
    retrying: int = 0  # failed this time, will be tried again
    failed: int = 0  # failed for good (attempts used up, or endpoint no longer configured)
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # (event_id, endpoint, outcome)


@dataclass
class _Claim:
    delivery_id: int
    notification_id: int
    endpoint: str
    attempt: int
    event_id: str
    kind: str
    body: bytes


@dataclass
class _Result:
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def deliver_due(
    session_factory: async_sessionmaker[AsyncSession],
    http_client: httpx.AsyncClient,
    settings: Any,
    now: datetime,
    *,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """One pass: plan new notifications, claim due deliveries, POST them, record answers.

    ``settings`` is the service's Settings (or a NotificationConfig); ``now`` is the time
    of the pass, so tests move time forward instead of sleeping.
    """
    config = NotificationConfig.from_settings(settings)
    report = DeliveryReport()
    report.planned = await _plan(session_factory, config, now)
    claims = await _claim(session_factory, config, now)
    report.claimed = len(claims)
    if not claims:
        return report
    gate = asyncio.Semaphore(config.concurrency)

    async def attempt(claim: _Claim) -> tuple[_Claim, _Result]:
        async with gate:
            return claim, await _post(http_client, config, claim)

    answers = await asyncio.gather(*(attempt(c) for c in claims))
    for (claim, result), outcome in zip(answers, await _record(session_factory, config, answers, now, rng)):
        report.outcomes.append((claim.event_id, claim.endpoint, outcome))
        if outcome == DELIVERED:
            report.delivered += 1
        elif outcome == FAILED:
            report.failed += 1
        elif outcome == "retrying":
            report.retrying += 1
    return report


async def _plan(session_factory: async_sessionmaker[AsyncSession], config: NotificationConfig, now: datetime) -> int:
    """Creates one delivery per configured endpoint for notifications that have none yet.
    The endpoints are those configured when the notification is first planned."""
    if not config.webhooks:
        return 0
    async with session_factory() as session:
        notifications = (
            await session.scalars(
                select(Notification)
                .where(Notification.planned_at.is_(None))
                .order_by(Notification.id)
                .limit(config.batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for notification in notifications:
            deliveries = [
                NotificationDelivery(
                    notification_id=notification.id, endpoint=name, status=PENDING, attempts=0, next_attempt_at=now
                )
                for name in sorted(config.webhooks)
            ]
            session.add_all(deliveries)
            notification.planned_at = now
            refresh_status(notification, deliveries)
        try:
            await session.commit()
        except IntegrityError:
            # Another replica planned them first (SQLite has no SKIP LOCKED): theirs stand.
            await session.rollback()
            return 0
        return len(notifications)


async def _claim(
    session_factory: async_sessionmaker[AsyncSession], config: NotificationConfig, now: datetime
) -> list[_Claim]:
    """Takes due deliveries for this pass: on PostgreSQL rows locked by another replica
    are skipped; the guarded UPDATE (attempts unchanged) keeps two SQLite processes from
    both taking the same row. The claim pushes next_attempt_at out by a lease and counts
    the attempt before the request is sent, so a crash mid-request still counts."""
    claims: list[_Claim] = []
    async with session_factory() as session:
        due = (
            await session.execute(
                select(NotificationDelivery.id, NotificationDelivery.attempts)
                .where(NotificationDelivery.status == PENDING, NotificationDelivery.next_attempt_at <= now)
                .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
                .limit(config.batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        taken: list[int] = []
        for delivery_id, attempts in due:
            result = await session.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.id == delivery_id,
                    NotificationDelivery.attempts == attempts,
                    NotificationDelivery.status == PENDING,
                )
                .values(attempts=attempts + 1, next_attempt_at=now + config.lease, last_attempt_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                taken.append(delivery_id)
        await session.commit()
        if not taken:
            return claims
        rows = (
            await session.execute(
                select(NotificationDelivery, Notification)
                .join(Notification, Notification.id == NotificationDelivery.notification_id)
                .where(NotificationDelivery.id.in_(taken))
                .order_by(NotificationDelivery.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        for delivery, notification in rows:
            claims.append(
                _Claim(
                    delivery_id=delivery.id,
                    notification_id=notification.id,
                    endpoint=delivery.endpoint,
                    attempt=delivery.attempts,
                    event_id=notification.event_id,
                    kind=notification.kind,
                    body=body_for(notification),
                )
            )
    return claims


async def _post(http_client: httpx.AsyncClient, config: NotificationConfig, claim: _Claim) -> _Result:
    url = config.webhooks.get(claim.endpoint)
    if url is None:
        return _Result(error=f"endpoint '{claim.endpoint}' is not configured")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: claim.event_id,
        KIND_HEADER: claim.kind,
        ATTEMPT_HEADER: str(claim.attempt),
        SIGNATURE_HEADER: sign(claim.body, config.signing_secret),
    }
    try:
        response = await http_client.post(
            url, content=claim.body, headers=headers, timeout=config.timeout_seconds, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        # The exception text can hold the URL, and with it a chat robot's token.
        return _Result(error=f"{type(exc).__name__} (no answer from endpoint '{claim.endpoint}')")
    if 200 <= response.status_code < 300:
        return _Result(status_code=response.status_code)
    text = " ".join(response.text.split())[:200]
    return _Result(
        status_code=response.status_code,
        error=f"HTTP {response.status_code}" + (f": {text}" if text else ""),
        retry_after=_retry_after(response),
    )


async def _record(
    session_factory: async_sessionmaker[AsyncSession],
    config: NotificationConfig,
    answers: list[tuple[_Claim, _Result]],
    now: datetime,
    rng: random.Random | None,
) -> list[str]:
    """The pass's answers, in one transaction: each delivery's outcome, then each
    notification's status from all its deliveries. One commit per pass, where one per
    delivery made the outbox a third of evaluation's commits in a deadline burst.

    The pass's notifications are locked first, in id order: a replica finishing other
    endpoints of the same notifications waits, then recomputes their status seeing these
    results (and two replicas lock in the same order, so neither waits on the other
    forever)."""
    ids = sorted({claim.notification_id for claim, _ in answers})
    outcomes: list[str] = []
    async with session_factory() as session:
        notifications = {
            n.id: n for n in (await session.scalars(
                select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id).with_for_update()
            )).all()
        }
        deliveries = (await session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.notification_id.in_(ids))
        )).all()
        by_id = {d.id: d for d in deliveries}
        of_notification: dict[int, list[NotificationDelivery]] = {}
        for delivery in deliveries:
            of_notification.setdefault(delivery.notification_id, []).append(delivery)
        for claim, result in answers:
            notification = notifications.get(claim.notification_id)
            delivery = by_id.get(claim.delivery_id)
            if notification is None or delivery is None:
                outcomes.append("gone")
                continue
            outcomes.append(_apply(config, claim, result, notification, delivery, now, rng))
        for notification in notifications.values():
            refresh_status(notification, of_notification.get(notification.id, []))
        await session.commit()
    for (claim, result), outcome in zip(answers, outcomes):
        log_event = log.info if outcome in (DELIVERED, "retrying") else log.warning
        log_event(
            "notification.delivery", event_id=claim.event_id, endpoint=claim.endpoint, attempt=claim.attempt,
            outcome=outcome, status_code=result.status_code,
        )
    return outcomes


def _apply(config: NotificationConfig, claim: _Claim, result: _Result, notification: Notification,
           delivery: NotificationDelivery, now: datetime, rng: random.Random | None) -> str:
    """One answer on its delivery (and the notification's attempt count and last error):
    delivered, retrying (the next attempt's time), failed, or superseded."""
    notification.attempts += 1
    if result.ok:
        if delivery.status != DELIVERED:
            delivery.status = DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        delivery.last_status_code = result.status_code
        delivery.last_error = None
        return DELIVERED
    if delivery.status != PENDING or delivery.attempts != claim.attempt:
        # Taken over meanwhile (an operator's retry, or the lease ran out): the newer
        # attempt records its own answer.
        return "superseded"
    error = (result.error or "failed")[:LAST_ERROR_MAX]
    delivery.last_status_code = result.status_code
    delivery.last_error = error
    notification.last_error = f"{claim.endpoint}: {error}"[:LAST_ERROR_MAX]
    if claim.endpoint not in config.webhooks or delivery.attempts >= config.max_attempts:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        return FAILED
    delay = backoff_delay(delivery.attempts, config, rng)
    if result.retry_after is not None:
        delay = max(delay, min(result.retry_after, config.backoff_max_seconds))
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return "retrying"


# --- the background task ----------------------------------------------------------------


class RedactWebhookUrls(logging.Filter):
    """httpx logs every request line with its full URL at INFO; a chat robot's URL carries
    its access token, so the URL of a configured webhook is logged as its name."""

    def __init__(self, webhooks: Mapping[str, str]) -> None:
        super().__init__()
        self.names = {url: name for name, url in webhooks.items()}

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                f"<webhook {self.names[str(a)]}>" if str(a) in self.names else a for a in record.args
            )
        return True


def redact_webhook_urls_in_logs(config: NotificationConfig) -> None:
    logger = logging.getLogger("httpx")
    for old in [f for f in logger.filters if isinstance(f, RedactWebhookUrls)]:
        logger.removeFilter(old)
    logger.addFilter(RedactWebhookUrls(config.webhooks))


async def deliver_notifications(app: FastAPI) -> None:
    """BackgroundTask for create_service_app(background=[...]): a pass every
    ``notification_poll_seconds``, straight away again while a pass found a full batch."""
    try:
        config = NotificationConfig.from_settings(app.state.settings)
    except ValueError as exc:  # a bad webhook entry: say so instead of dying silently
        log.error("notification.misconfigured", error=str(exc))
        raise
    redact_webhook_urls_in_logs(config)
    async with httpx.AsyncClient(timeout=config.timeout_seconds, follow_redirects=False) as client:
        while True:
            busy = False
            try:
                report = await deliver_due(app.state.sessions, client, config, utcnow())
                busy = report.claimed >= config.batch_size or report.planned >= config.batch_size
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the loop must outlive a bad pass
                log.warning("notification.pass_failed", error=type(exc).__name__)
            await asyncio.sleep(0 if busy else config.poll_seconds)
