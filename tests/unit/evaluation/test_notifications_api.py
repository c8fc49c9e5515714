"""The /notifications routes over ASGI: roles, Idempotency-Key, problem+json, paging,
per-endpoint delivery status and the operator's retry."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.common.auth import Role, mint_token
from services.common.settings import Settings
from services.evaluation.base import Base
from services.evaluation.notifications.delivery import NotificationConfig, deliver_due
from services.evaluation.notifications.service import EVENT_ID_NAMESPACE
from services.evaluation.notifications.views import router

SETTINGS = Settings(jwt_secret="k" * 40)
BODY = {
    "kind": "escalation.urge",
    "recipients": ["department:教育体育局", "committee:教科卫体委"],
    "payload": {"commitment_id": 7, "step": "urge", "level": 1, "title": "新建3所公办幼儿园"},
}
from tests.router_app import asgi_client, router_app


def auth(role: Role, key: str | None = None) -> dict[str, str]:
    department = "教育体育局" if role is Role.DEPARTMENT else None
    headers = {"Authorization": "Bearer " + mint_token(SETTINGS, role=role, subject="u", department=department)}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with router_app(tmp_path / "evaluation.db", Base.metadata, [router], settings=SETTINGS) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "evaluation") as c:
        yield c


async def test_enqueue_201_then_200_with_the_same_body(client: httpx.AsyncClient) -> None:
    first = await client.post("/notifications", json=BODY, headers=auth(Role.SERVICE, "followup-7-urge-1"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["event_id"] == str(uuid.uuid5(EVENT_ID_NAMESPACE, "followup-7-urge-1"))
    assert (body["status"], body["attempts"], body["deliveries"]) == ("pending", 0, [])
    again = await client.post("/notifications", json=BODY, headers=auth(Role.SERVICE, "followup-7-urge-1"))
    assert again.status_code == 200 and again.json() == body
    other = dict(BODY, payload={"commitment_id": 8})
    conflict = await client.post("/notifications", json=other, headers=auth(Role.SERVICE, "followup-7-urge-1"))
    assert conflict.status_code == 409 and conflict.headers["content-type"] == "application/problem+json"


async def test_enqueue_needs_a_service_token_and_an_idempotency_key(client: httpx.AsyncClient) -> None:
    assert (await client.post("/notifications", json=BODY)).status_code == 401
    assert (await client.post("/notifications", json=BODY, headers=auth(Role.CLERK, "k"))).status_code == 403
    missing = await client.post("/notifications", json=BODY, headers=auth(Role.SERVICE))
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["Idempotency-Key"]
    bad = await client.post("/notifications", json=BODY, headers=auth(Role.SERVICE, "has space"))
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payload": {"contact": "请联系13812345678"}}, "payload"),
        ({"recipients": ["13812345678"]}, "recipients.0"),
        ({"recipients": []}, "recipients"),
        ({"kind": "Escalation Urge"}, "kind"),
        ({"payload": {"blob": "x" * 20_000}}, "payload"),
    ],
)
async def test_enqueue_refuses_bad_notifications(client: httpx.AsyncClient, change: dict, field: str) -> None:
    r = await client.post("/notifications", json=dict(BODY, **change), headers=auth(Role.SERVICE, "k"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]


async def test_list_filters_and_pages(client: httpx.AsyncClient) -> None:
    for i in range(5):
        kind = "commitment.reminder" if i % 2 else "escalation.urge"
        r = await client.post("/notifications", json=dict(BODY, kind=kind), headers=auth(Role.SERVICE, f"k-{i}"))
        assert r.status_code == 201
    page = await client.get("/notifications", params={"limit": 2}, headers=auth(Role.OPERATOR))
    assert page.status_code == 200
    first = page.json()
    assert (len(first["items"]), first["total"], first["next_after"]) == (2, 5, first["items"][1]["id"])
    rest = await client.get("/notifications", params={"after": first["next_after"]}, headers=auth(Role.CLERK))
    assert [n["id"] for n in rest.json()["items"]] == [3, 4, 5] and rest.json()["next_after"] is None
    urges = await client.get("/notifications", params={"kind": "escalation.urge", "status": "pending"},
                             headers=auth(Role.CLERK))
    assert urges.json()["total"] == 3
    assert (await client.get("/notifications", params={"status": "failed"}, headers=auth(Role.CLERK))).json()[
        "total"
    ] == 0
    assert (await client.get("/notifications", params={"status": "lost"}, headers=auth(Role.CLERK))).status_code == 422
    assert (await client.get("/notifications", headers=auth(Role.DEPARTMENT))).status_code == 403


async def test_detail_shows_each_endpoint_and_a_clerk_retries_failures(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await client.post("/notifications", json=BODY, headers=auth(Role.SERVICE, "k"))
    nid = created.json()["id"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = NotificationConfig(webhooks={"wecom-bridge": f"http://127.0.0.1:{port}/x"}, signing_secret="s" * 40,
                             max_attempts=1)
    async with httpx.AsyncClient(trust_env=False) as http:
        report = await deliver_due(app.state.sessions, http, cfg, datetime.now(UTC))
    assert report.failed == 1

    shown = await client.get(f"/notifications/{nid}", headers=auth(Role.OPERATOR))
    assert shown.status_code == 200
    body = shown.json()
    assert body["status"] == "failed" and body["last_error"].startswith("wecom-bridge: ConnectError")
    (delivery,) = body["deliveries"]
    assert (delivery["endpoint"], delivery["status"], delivery["attempts"]) == ("wecom-bridge", "failed", 1)
    assert str(port) not in shown.text  # endpoint URLs (and their tokens) stay out of the API

    for role in (Role.SERVICE, Role.OPERATOR):  # the operator reads; it changes nothing
        assert (await client.post(f"/notifications/{nid}/retry", headers=auth(role))).status_code == 403
    retried = await client.post(f"/notifications/{nid}/retry", headers=auth(Role.CLERK))
    assert retried.status_code == 200
    after = retried.json()
    assert after["status"] == "pending" and after["deliveries"][0]["status"] == "pending"
    assert after["deliveries"][0]["attempts"] == 0 and after["attempts"] == 1
    due = datetime.fromisoformat(after["next_attempt_at"])
    assert abs(due - datetime.now(UTC)) < timedelta(minutes=1)

    missing = await client.get("/notifications/999", headers=auth(Role.CLERK))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert (await client.post("/notifications/999/retry", headers=auth(Role.CLERK))).status_code == 404
