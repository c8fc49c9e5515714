"""One Idempotency-Key mechanism for every write of every service, keyed by
(caller, method and route, key) with a hash of the request.

The first test is generated from the routes: for every POST, PUT, PATCH and DELETE of
intake, talent and evaluation it plants an answer under a key and shows that the guard
(not the route) answers: the same caller with the same body gets the planted answer, a
different body gets 422, another caller's same key is another key. The others run real
routes: two departments and two residents reusing one key get their own records.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import insert

from services.common.auth import Principal, Role
from services.common.db import create_engine, utcnow
from services.common.idempotency import fingerprint, idempotency_table
from services.common.settings import SERVICE_NAMES
from services.common.writes import caller_of, write_routes

from .conftest import NO_TOKEN, Services, declared, route_template

PLANTED = {"planted": "by the test, never by a route"}


def all_write_routes(services: Services):
    for name in SERVICE_NAMES:
        for method, route in write_routes(services.apps[name]):
            yield name, method, route





def _fill(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


def principal_for(role: Role, subject: str) -> Principal:
    return Principal(subject=subject, role=role, department="教育体育局" if role is Role.DEPARTMENT else None)


async def test_every_write_route_of_every_service_is_idempotent_per_caller(services: Services) -> None:
    routes = list(all_write_routes(services))
    assert len(routes) >= 30, "the routes were not found"
    covered = []
    matrix = declared(services.apps)
    for name, method, route in routes:
        if "{token}" in route.path:  # the codec's token in the path: no bearer, no caller to key by
            continue
        if (name, method, route_template(route.path)) in NO_TOKEN:
            # A write without a token has no caller to key by: the resident's sign-in
            # (POST /public/session) stores nothing but its rate counter and mints a token,
            # so a retry costs one more count and an equivalent token.
            continue
        roles = matrix.get((name, method, route_template(route.path)))
        assert roles, f"{name} {method} {route.path} declares no roles"
        role = min(roles, key=lambda r: r.value)
        path, key, body = _fill(route.path), f"k-{uuid.uuid4()}", {"probe": 1}
        caller = caller_of(principal_for(role, "first"))
        engine = create_engine(services.settings.database_url(name))
        async with engine.begin() as conn:
            await conn.execute(insert(idempotency_table(_metadata())).values(
                caller=caller, route=f"{method} {route.path}", key=key,
                request_hash=fingerprint(path, "", "application/json", json.dumps(body).encode()),
                status=201, headers=json.dumps({"content-type": "application/json"}),
                body=json.dumps(PLANTED).encode(), created_at=utcnow(),
            ))
        await engine.dispose()
        client = services.clients[name]

        same = await client.request(method, path, json=body, headers=services.auth(role, "first", key=key))
        assert (same.status_code, same.json()) == (201, PLANTED), f"{name} {method} {route.path}: {same.text}"
        assert same.headers["Idempotent-Replayed"] == "true"

        other_body = await client.request(method, path, json={"probe": 2}, headers=services.auth(role, "first", key=key))
        assert other_body.status_code == 422, f"{name} {method} {route.path}: {other_body.text}"
        assert other_body.headers["content-type"].startswith("application/problem+json")
        assert other_body.json()["field"] == "Idempotency-Key"

        other_caller = await client.request(method, path, json=body, headers=services.auth(role, "second", key=key))
        assert other_caller.status_code != 201 or other_caller.json() != PLANTED
        assert "Idempotent-Replayed" not in other_caller.headers, f"{name} {method} {route.path}"
        covered.append((name, method, route.path))
    assert {n for n, _, _ in covered} == set(SERVICE_NAMES)
    assert {m for _, m, _ in covered} >= {"POST", "PUT", "PATCH", "DELETE"}


def _metadata():
    from sqlalchemy import MetaData

    return MetaData()


# ------------------------------------------------------------------ real routes
COMMITMENT = {
    "consultation_topic_id": 1, "content": "新建3所公办幼儿园", "due_at": "2027-06-30T10:00:00Z",
    "organiser": "教科卫体委", "plan_year": 2026,
}


async def test_two_departments_reusing_one_key_get_their_own_progress_reports(services: Services) -> None:
    evaluation = services.clients["evaluation"]
    ids = {}
    for department in ("教育体育局", "卫生健康局"):
        created = await evaluation.post("/commitments", json={**COMMITMENT, "department": department},
                                        headers=services.auth(Role.CLERK, "office-1"))
        assert created.status_code == 201, created.text
        ids[department] = created.json()["id"]
    key = "progress-1"
    answers = {}
    for department, content in (("卫生健康局", "患者王某，电话13812345678，已回访"), ("教育体育局", "已完成选址")):
        answers[department] = await evaluation.post(
            f"/commitments/{ids[department]}/progress-reports", json={"content": content},
            headers=services.auth(Role.DEPARTMENT, "dept-user", department=department, key=key),
        )
    # Temporal is down here: each report is stored and will be delivered (503 saying so,
    # an answer the guard keeps for retries: "no need to resend").
    for answer in answers.values():
        assert answer.status_code == 503 and answer.json()["stored"] is True, answer.text
        assert "Idempotent-Replayed" not in answer.headers
    assert answers["教育体育局"].json()["action_id"] != answers["卫生健康局"].json()["action_id"]
    # Each department's retry replays its own answer; nothing is stored twice.
    again = await evaluation.post(
        f"/commitments/{ids['教育体育局']}/progress-reports", json={"content": "已完成选址"},
        headers=services.auth(Role.DEPARTMENT, "dept-user", department="教育体育局", key=key),
    )
    assert again.json() == answers["教育体育局"].json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == answers["教育体育局"].status_code
    listed = await evaluation.get(f"/commitments/{ids['教育体育局']}/actions", headers=services.auth(Role.CLERK))
    assert [a["payload"]["content"] for a in listed.json()] == ["已完成选址"]


async def test_two_residents_reusing_one_key_get_their_own_ratings(services: Services) -> None:
    evaluation = services.clients["evaluation"]
    key = "rating-1"
    rating = {"consultation_topic_id": 3, "organiser": "教科卫体委", "plan_year": 2026, "aspect": "outcome_quality"}
    first = await evaluation.post("/ratings/consultations", json={**rating, "score": 2, "comment": "电话13812345678"},
                                  headers=services.auth(Role.PUBLIC, "wx-resident-a", key=key))
    second = await evaluation.post("/ratings/consultations", json={**rating, "score": 5},
                                   headers=services.auth(Role.PUBLIC, "wx-resident-b", key=key))
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["comment"] is None and second.json()["score"] == 5
    assert second.json()["rated_by"] == "wx-resident-b"


async def test_two_residents_reusing_one_key_submit_their_own_topics(services: Services) -> None:
    intake = services.clients["intake"]
    key = "submission-1"
    answers = [
        await intake.post("/public/submissions", json=body, headers=services.auth(Role.PUBLIC, subject, key=key))
        for subject, body in (
            ("wx-resident-a", {"title": "学校门口交通拥堵", "content": "每天早上学校门口车辆拥堵，建议设置临时停车区。"}),
            ("wx-resident-b", {"title": "社区缺少养老食堂", "content": "老年人吃饭不方便，建议在社区开设养老食堂。"}),
        )
    ]
    assert all(a.status_code in (201, 202) for a in answers), [a.text for a in answers]
    assert answers[0].json()["submission_id"] != answers[1].json()["submission_id"]
    assert not any("Idempotent-Replayed" in a.headers for a in answers)


@pytest.mark.parametrize(("service", "path", "body", "changed"), [
    ("intake", "/venues", {"code": "hall-9", "name": "九号厅", "kind": "hall"}, {"code": "hall-10", "name": "十号厅"}),
    ("talent", "/people", {"kind": "talent", "display_name": "李四"}, {"display_name": "王五"}),
    ("evaluation", "/commitments", {**COMMITMENT, "department": "教育体育局"}, {"content": "另一项承诺"}),
])
async def test_same_key_same_body_replays_and_a_different_body_is_422(
    services: Services, service: str, path: str, body: dict, changed: dict
) -> None:
    client = services.clients[service]
    headers = services.auth(Role.CLERK, "office-1", key="create-1")
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(path, json=dict(reversed(list(body.items()))), headers=headers)  # key order is no difference
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(path, json={**body, **changed}, headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused"), other.text
    # A refused request leaves the key free for the corrected one.
    bad = await client.post(path, json={**body, "unknown": 1}, headers=services.auth(Role.CLERK, "office-1", key="k2"))
    assert bad.status_code == 422
    fixed = await client.post(path, json={**body, **changed}, headers=services.auth(Role.CLERK, "office-1", key="k2"))
    assert fixed.status_code == 201, fixed.text
