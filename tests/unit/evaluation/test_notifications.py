"""Notifications: the outbox and its delivery loop, against real HTTP receivers on
loopback, on SQLite and (where reachable) on a fresh PostgreSQL database.

Time is the ``now`` handed to ``deliver_due``: retries are reached by moving it forward,
never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.db import create_engine, session_factory
from services.common.problems import Problem
from services.common.settings import Settings
from services.evaluation.base import Base
from services.evaluation.notifications.delivery import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    NotificationConfig,
    backoff_delay,
    deliver_due,
    deliver_notifications,
    sign,
    verify_signature,
)
from services.evaluation.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationStatus,
)
from services.evaluation.notifications.service import (
    EVENT_ID_NAMESPACE,
    enqueue_notification,
    get_notification,
    retry_notification,
)
from tests.stack import (
    postgres_databases,
    postgres_unreachable_reason,
    require_postgres,
)
from tests.webhook_receiver import Receiver

SECRET = "s" * 40
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LATER = timedelta(hours=2)  # beyond any backoff of the test configs


# --- a real webhook receiver on loopback -------------------------------------------------


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for r in started:
        r.close()


def start(receivers: list[Receiver], **kwargs: object) -> Receiver:
    r = Receiver(**kwargs)  # type: ignore[arg-type]
    receivers.append(r)
    return r


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(**webhooks: str) -> NotificationConfig:
    return NotificationConfig(
        webhooks=webhooks, signing_secret=SECRET, max_attempts=5, backoff_seconds=1, backoff_max_seconds=60,
        timeout_seconds=5,
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


# --- databases -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def pg_engine() -> AsyncIterator[AsyncEngine | str]:
    """One PostgreSQL database for the outbox tests of this run (dropped afterwards), or
    the reason why there is none: the SQLite half of the tests must not depend on it."""
    if (reason := postgres_unreachable_reason()) is not None:
        yield reason
        return
    with postgres_databases(f"xs_notifications_{uuid.uuid4().hex[:10]}", "the outbox", services=("evaluation",)) as urls:
        engine = create_engine(urls["evaluation"])
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path, pg_engine: AsyncEngine | str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/evaluation.db")
    else:
        if isinstance(pg_engine, str):
            require_postgres("the outbox", pg_engine)
        engine = pg_engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield session_factory(engine)
    finally:
        if request.param == "sqlite":
            await engine.dispose()


async def enqueue(sessions: async_sessionmaker[AsyncSession], key: str | None = "k-1", **overrides: object) -> Notification:
    fields: dict = {
        "kind": "escalation.urge",
        "recipients": ["department:教育体育局", "committee:教科卫体委"],
        "payload": {"commitment_id": 7, "step": "urge", "title": "新建3所公办幼儿园"},
    }
    fields.update(overrides)
    async with sessions() as session:
        notification = await enqueue_notification(session, idempotency_key=key, **fields)
        await session.commit()
        return notification


async def deliveries(sessions: async_sessionmaker[AsyncSession], notification_id: int) -> dict[str, NotificationDelivery]:
    async with sessions() as session:
        rows = await session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.notification_id == notification_id)
        )
        return {d.endpoint: d for d in rows}


async def reload(sessions: async_sessionmaker[AsyncSession], notification_id: int) -> Notification:
    async with sessions() as session:
        n = await session.get(Notification, notification_id)
        assert n is not None
        return n


# --- delivery --------------------------------------------------------------------------------


async def test_delivered_once_per_endpoint(sessions, http, receivers) -> None:
    a, b = start(receivers), start(receivers)
    cfg = config(alpha=a.url, beta=b.url)
    first = await enqueue(sessions, "k-1")
    second = await enqueue(sessions, "k-2", kind="commitment.reminder", recipients=["department:住房城乡建设局"])

    report = await deliver_due(sessions, http, cfg, T0)
    assert (report.planned, report.claimed, report.delivered, report.failed) == (2, 4, 4, 0)
    again = await deliver_due(sessions, http, cfg, T0 + LATER)
    assert (again.planned, again.claimed) == (0, 0)

    for r in (a, b):
        assert sorted(r.event_ids()) == sorted([first.event_id, second.event_id])
        request = next(q for q in r.requests if q["headers"][EVENT_ID_HEADER] == first.event_id)
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["X-Xieshang-Attempt"] == "1"
        body = json.loads(request["body"])
        assert body == {
            "event_id": first.event_id,
            "kind": "escalation.urge",
            "recipients": ["department:教育体育局", "committee:教科卫体委"],
            "payload": {"commitment_id": 7, "step": "urge", "title": "新建3所公办幼儿园"},
            "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
        }
    n = await reload(sessions, first.id)
    assert (n.status, n.attempts, n.next_attempt_at, n.delivered_at) == ("delivered", 2, None, T0)
    assert {d.status for d in (await deliveries(sessions, first.id)).values()} == {"delivered"}


async def test_endpoint_down_then_up_is_retried_without_resending_to_others(sessions, http, receivers) -> None:
    up = start(receivers)
    port = closed_port()
    cfg = config(up=up.url, down=f"http://127.0.0.1:{port}/hook")
    n = await enqueue(sessions)

    first = await deliver_due(sessions, http, cfg, T0)
    assert (first.delivered, first.retrying) == (1, 1)
    state = await deliveries(sessions, n.id)
    assert state["up"].status == "delivered"
    assert state["down"].status == "pending" and state["down"].attempts == 1
    assert "ConnectError" in (state["down"].last_error or "") and str(port) not in state["down"].last_error
    assert T0 + timedelta(seconds=0.5) <= state["down"].next_attempt_at <= T0 + timedelta(seconds=1)
    pending = await reload(sessions, n.id)
    assert pending.status == "pending" and pending.next_attempt_at == state["down"].next_attempt_at

    assert (await deliver_due(sessions, http, cfg, T0)).claimed == 0  # not due yet

    back = start(receivers, port=port)
    later = await deliver_due(sessions, http, cfg, T0 + LATER)
    assert (later.claimed, later.delivered) == (1, 1)
    assert up.event_ids() == [n.event_id]  # the healthy endpoint got it once
    assert back.event_ids() == [n.event_id]  # the same event id after the retry
    assert back.requests[0]["headers"]["X-Xieshang-Attempt"] == "2"
    done = await reload(sessions, n.id)
    assert (done.status, done.attempts, done.delivered_at) == ("delivered", 3, T0 + LATER)


async def test_lost_answer_redelivers_the_same_event_and_the_receiver_deduplicates(sessions, http, receivers) -> None:
    # The receiver records the event, then answers 500 (as if its 2xx had been lost).
    r = start(receivers, script=[500])
    cfg = config(hook=r.url)
    n = await enqueue(sessions)

    assert (await deliver_due(sessions, http, cfg, T0)).retrying == 1
    assert (await deliver_due(sessions, http, cfg, T0 + LATER)).delivered == 1

    assert r.event_ids() == [n.event_id, n.event_id]
    assert r.requests[0]["body"] == r.requests[1]["body"]  # byte for byte: same signature too
    assert r.acted == [n.event_id]  # deduplicated on the event id: acted upon once
    assert (await deliveries(sessions, n.id))["hook"].last_error is None


async def test_max_attempts_then_failed_until_an_operator_retries(sessions, http, receivers) -> None:
    r = start(receivers, script=[503] * 5)
    cfg = config(hook=r.url)
    n = await enqueue(sessions)
    now = T0
    outcomes = []
    for _ in range(5):
        report = await deliver_due(sessions, http, cfg, now)
        outcomes.append((report.retrying, report.failed))
        now += LATER
    assert outcomes == [(1, 0)] * 4 + [(0, 1)]
    failed = await reload(sessions, n.id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 5, None)
    assert failed.last_error == "hook: HTTP 503"
    assert (await deliver_due(sessions, http, cfg, now + LATER)).claimed == 0  # gave up
    assert len(r.requests) == 5

    async with sessions() as session:
        shown = await retry_notification(session, n.id)
    assert shown.status == "pending" and shown.deliveries[0].attempts == 0
    report = await deliver_due(sessions, http, cfg, max(now, datetime.now(UTC)) + LATER)
    assert report.delivered == 1
    async with sessions() as session:
        shown = await get_notification(session, n.id)
    assert (shown.status, shown.attempts, shown.deliveries[0].status) == ("delivered", 6, "delivered")
    assert r.event_ids() == [n.event_id] * 6


async def test_retry_after_is_honoured(sessions, http, receivers) -> None:
    r = start(receivers, script=[(429, "30"), 503])
    cfg = config(hook=r.url)
    n = await enqueue(sessions)
    await deliver_due(sessions, http, cfg, T0)
    d = (await deliveries(sessions, n.id))["hook"]
    assert d.last_status_code == 429 and d.next_attempt_at >= T0 + timedelta(seconds=30)
    assert (await deliver_due(sessions, http, cfg, T0 + timedelta(seconds=29))).claimed == 0
    await deliver_due(sessions, http, cfg, T0 + timedelta(seconds=30))
    d = (await deliveries(sessions, n.id))["hook"]  # no Retry-After: the usual 2nd backoff, 1 to 2 s
    assert d.last_status_code == 503 and d.next_attempt_at <= T0 + timedelta(seconds=32)


async def test_signature_verifies(sessions, http, receivers) -> None:
    r = start(receivers)
    await enqueue(sessions)
    await deliver_due(sessions, http, config(hook=r.url), T0)
    request = r.requests[0]
    header = request["headers"][SIGNATURE_HEADER]
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(request["body"], header, SECRET)
    assert not verify_signature(request["body"], header, "t" * 40)
    assert not verify_signature(request["body"].replace(b"urge", b"eerg"), header, SECRET)
    assert not verify_signature(request["body"], None, SECRET)


async def test_no_webhook_configured_keeps_notifications_until_one_is(sessions, http, receivers) -> None:
    n = await enqueue(sessions)
    nothing = await deliver_due(sessions, http, config(), T0)
    assert (nothing.planned, nothing.claimed) == (0, 0)
    assert (await reload(sessions, n.id)).status == "pending"
    r = start(receivers)
    report = await deliver_due(sessions, http, config(hook=r.url), T0 + LATER)
    assert (report.planned, report.delivered) == (1, 1) and r.event_ids() == [n.event_id]


async def test_endpoint_removed_from_configuration_fails_visibly(sessions, http, receivers) -> None:
    r = start(receivers, script=[503])
    n = await enqueue(sessions)
    await deliver_due(sessions, http, config(old=r.url), T0)
    report = await deliver_due(sessions, http, config(new=r.url), T0 + LATER)
    assert (report.claimed, report.failed) == (1, 1)
    failed = await reload(sessions, n.id)
    assert failed.status == "failed" and "not configured" in (failed.last_error or "")


async def test_concurrent_passes_deliver_each_event_once_per_endpoint(sessions, http, receivers) -> None:
    a, b = start(receivers), start(receivers)
    cfg = config(alpha=a.url, beta=b.url)
    ids = [(await enqueue(sessions, f"k-{i}")).event_id for i in range(6)]
    reports = await asyncio.gather(*(deliver_due(sessions, http, cfg, T0) for _ in range(3)))
    reports.append(await deliver_due(sessions, http, cfg, T0))  # whatever a lost planning race left
    assert sum(r.delivered for r in reports) == 12
    assert sorted(a.event_ids()) == sorted(ids) and sorted(b.event_ids()) == sorted(ids)


async def test_a_crashed_attempt_is_taken_over_after_its_lease(sessions, http, receivers) -> None:
    r = start(receivers)
    cfg = config(hook=r.url)
    n = await enqueue(sessions)
    await deliver_due(sessions, http, config(), T0)  # nothing configured: no plan
    async with sessions() as session:  # plan and claim, then "crash" before the POST
        session.add(NotificationDelivery(notification_id=n.id, endpoint="hook", status="pending", attempts=1,
                                         next_attempt_at=T0 + cfg.lease, last_attempt_at=T0))
        row = await session.get(Notification, n.id)
        row.planned_at = T0
        await session.commit()
    assert (await deliver_due(sessions, http, cfg, T0 + timedelta(seconds=30))).claimed == 0
    report = await deliver_due(sessions, http, cfg, T0 + cfg.lease)
    assert report.delivered == 1 and r.requests[0]["headers"]["X-Xieshang-Attempt"] == "2"


# --- enqueue ---------------------------------------------------------------------------------


async def test_enqueue_is_idempotent_by_key(sessions) -> None:
    first = await enqueue(sessions, "followup-7-urge-1")
    again = await enqueue(sessions, "followup-7-urge-1")
    assert (again.id, again.event_id) == (first.id, first.event_id)
    assert first.event_id == str(uuid.uuid5(EVENT_ID_NAMESPACE, "followup-7-urge-1"))
    with pytest.raises(Problem) as conflict:
        await enqueue(sessions, "followup-7-urge-1", payload={"commitment_id": 8})
    assert conflict.value.status == 409
    keyless = [await enqueue(sessions, None), await enqueue(sessions, None)]
    assert keyless[0].event_id != keyless[1].event_id
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 3


async def test_enqueue_belongs_to_the_callers_transaction(sessions) -> None:
    async with sessions() as session:
        await enqueue_notification(session, idempotency_key="rolled-back", kind="escalation.urge",
                                   recipients=["department:教育体育局"], payload={})
        await session.rollback()  # the causing record was not stored: neither is its notification
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0


async def test_concurrent_enqueue_with_one_key_gives_one_row(sessions) -> None:
    async with sessions() as s1, sessions() as s2:
        kwargs = {"idempotency_key": "race", "kind": "escalation.urge", "recipients": ["role:clerk"], "payload": {}}
        mine = await enqueue_notification(s1, **kwargs)
        theirs_task = asyncio.create_task(enqueue_notification(s2, **kwargs))
        await asyncio.sleep(0.2)  # s2 now waits on s1's uncommitted row (PG) or the write lock (SQLite)
        await s1.commit()
        theirs = await theirs_task
        await s2.commit()
    assert (theirs.id, theirs.event_id) == (mine.id, mine.event_id)


@pytest.mark.parametrize(
    "payload",
    [
        {"contact": "13812345678"},
        {"note": "请联系 +86 138-1234-5678"},
        {"phone": "redacted"},
        {"people": [{"Mobile": "x"}]},
        {"who": "zhang@example.cn"},
        {"id": "51050319800101123X"},
        {"office": "0830-1234567"},
    ],
)
async def test_no_contact_data_in_notifications(sessions, payload: dict) -> None:
    with pytest.raises(ValidationError, match="contact data"):
        await enqueue(sessions, "k", payload=payload)
    with pytest.raises(ValidationError, match="contact data"):
        await enqueue(sessions, "k", recipients=["person:13812345678"])


# --- pure parts ------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    cfg = NotificationConfig(backoff_seconds=1, backoff_max_seconds=3600)
    rng = random.Random(7)
    for attempts, nominal in [(1, 1), (2, 2), (3, 4), (4, 8), (12, 2048), (13, 3600), (40, 3600)]:
        for _ in range(20):
            assert nominal / 2 <= backoff_delay(attempts, cfg, rng) <= nominal


def test_signature_is_hmac_sha256_of_the_body() -> None:
    import hashlib
    import hmac

    body = b'{"event_id":"x"}'
    assert sign(body, SECRET) == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_config_reads_settings_with_defaults(tmp_path: Path) -> None:
    plain = NotificationConfig.from_settings(Settings(data_dir=str(tmp_path)))
    assert plain.webhooks == {} and plain.max_attempts == 30 and len(plain.signing_secret) >= 32
    assert NotificationConfig.from_settings(Settings(data_dir=str(tmp_path))).signing_secret == plain.signing_secret

    class Extended:
        data_dir = str(tmp_path)
        notification_webhooks = ["https://bridge.example/hook?access_token=abc"]
        notification_signing_secret = SECRET
        notification_max_attempts = 3

    cfg = NotificationConfig.from_settings(Extended())
    (name,) = cfg.webhooks
    assert name.startswith("webhook-") and "abc" not in name
    assert (cfg.max_attempts, cfg.signing_secret) == (3, SECRET)
    with pytest.raises(ValueError):
        NotificationConfig.from_settings(type("Bad", (), {"notification_webhooks": {"x": "ftp://h/"},
                                                          "notification_signing_secret": SECRET})())


# --- the background task, with the settings fields proposed for integration ----------------


class ProposedSettings(Settings):
    """Settings plus exactly the fields docs/notifications.md asks the integrator to add."""

    notification_webhooks: dict[str, str] = {}
    notification_signing_secret: str = ""
    notification_poll_seconds: float = Field(default=5.0, gt=0)
    notification_max_attempts: int = Field(default=30, ge=1)
    notification_backoff_seconds: float = Field(default=1.0, gt=0)
    notification_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    notification_timeout_seconds: float = Field(default=10.0, gt=0)
    notification_batch_size: int = Field(default=50, ge=1)


async def test_background_task_delivers_with_settings_from_the_environment(
    tmp_path: Path, receivers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    r = start(receivers)
    r.url += "?access_token=robot-secret-123"  # as chat robots' URLs do
    monkeypatch.setenv("XIESHANG_NOTIFICATION_WEBHOOKS", json.dumps({"wecom-bridge": r.url}))
    monkeypatch.setenv("XIESHANG_NOTIFICATION_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("XIESHANG_NOTIFICATION_POLL_SECONDS", "0.05")
    settings = ProposedSettings(data_dir=str(tmp_path))
    assert NotificationConfig.from_settings(settings).webhooks == {"wecom-bridge": r.url}
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/evaluation.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    app = FastAPI()
    app.state.settings = settings
    app.state.sessions = session_factory(engine)
    task = asyncio.create_task(deliver_notifications(app))
    try:
        n = await enqueue(app.state.sessions)
        # The outbox records the answer after httpx has logged the request (its line is
        # written when the response comes back): once the notification is delivered,
        # the receiver has it and the log holds the line.
        for _ in range(200):
            async with app.state.sessions() as session:
                status = await session.scalar(select(Notification.status).where(Notification.id == n.id))
            if status == NotificationStatus.DELIVERED:
                break
            await asyncio.sleep(0.05)
        assert status == NotificationStatus.DELIVERED
        assert r.event_ids() == [n.event_id]
        assert verify_signature(r.requests[0]["body"], r.requests[0]["headers"][SIGNATURE_HEADER], SECRET)
        assert "<webhook wecom-bridge>" in caplog.text and "robot-secret-123" not in caplog.text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()
