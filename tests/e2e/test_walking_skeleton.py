"""The thinnest real slice, over HTTP only, on SQLite and on PostgreSQL.

POST /topics stores a topic and starts ConsultationWorkflow; the workflow upserts its
search attributes and records "topic received" in evaluation through an activity; GET
/topics/{id} reads the stage back from the workflow; an operator's Web UI query finds it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from services.common.auth import Role
from tests.stack import Stack

pytestmark = pytest.mark.e2e

T = TypeVar("T")

KINDERGARTEN = {
    "title": "县城公办幼儿园学位不足",
    "content": "县城只有一所公办幼儿园，学位约1000个，每年约4000名适龄儿童需要入园。",
    "channel": "member_recommended",
}


def eventually(probe: Callable[[], T | None], *, timeout: float = 20, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def ui_query(stack: Stack, query: str) -> list[dict[str, Any]]:
    """What the Temporal Web UI asks its server for when an operator types `query`."""
    response = httpx.get(
        f"{stack.devstack.temporal_ui_url}/api/v1/namespaces/default/workflows", params={"query": query}, timeout=5
    )
    response.raise_for_status()
    return response.json().get("executions", [])


def decode_attribute(execution: dict[str, Any], name: str) -> Any:
    field = execution["searchAttributes"]["indexedFields"][name]
    return json.loads(base64.b64decode(field["data"]))


def test_topic_starts_its_consultation_and_is_found_by_stage(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    created = httpx.post(f"{stack.url('intake')}/topics", json=KINDERGARTEN, headers=clerk)
    assert created.status_code == 201, created.text
    topic = created.json()
    assert topic["workflow_id"] == f"consultation-{topic['id']}"
    assert topic["channel"] == "member_recommended"

    # The stage comes from the workflow itself (its query).
    read = httpx.get(f"{stack.url('intake')}/topics/{topic['id']}", headers=clerk).json()
    assert read["stage"] == "submitted"
    assert read["title"] == KINDERGARTEN["title"]

    # The activity reached evaluation over HTTP and recorded the event exactly once.
    operator = stack.auth(Role.OPERATOR)

    def received() -> list[dict[str, Any]]:
        events = httpx.get(
            f"{stack.url('evaluation')}/events", params={"topic_id": topic["id"]}, headers=operator
        ).json()
        return events["items"]

    items = eventually(received, what="topic_received event")
    assert [(e["kind"], e["event_key"]) for e in items] == [("topic_received", f"topic-{topic['id']}-received")]

    # The operator's Web UI query by stage and channel lists it.
    query = f"ConsultationStage='submitted' AND TopicChannel='member_recommended' AND WorkflowId='{topic['workflow_id']}'"
    executions = eventually(lambda: ui_query(stack, query), what="visibility of the new workflow")
    assert [e["execution"]["workflowId"] for e in executions] == [topic["workflow_id"]]
    assert decode_attribute(executions[0], "ConsultationStage") == "submitted"
    assert ui_query(stack, f"ConsultationStage='decided' AND WorkflowId='{topic['workflow_id']}'") == []


def test_topic_listing_pages_with_totals(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    ids = []
    for n in range(3):
        body = {**KINDERGARTEN, "title": f"分页测试议题 {n}", "channel": "public_online"}
        ids.append(httpx.post(f"{stack.url('intake')}/topics", json=body, headers=clerk).json()["id"])
    first = httpx.get(
        f"{stack.url('intake')}/topics", params={"channel": "public_online", "limit": 2}, headers=clerk
    ).json()
    assert first["total"] >= 3
    assert len(first["items"]) == 2 and first["next_after"] is not None
    rest = httpx.get(
        f"{stack.url('intake')}/topics",
        params={"channel": "public_online", "limit": 200, "after": first["next_after"]},
        headers=clerk,
    ).json()
    seen = [t["id"] for t in first["items"] + rest["items"]]
    assert seen == sorted(seen) and set(ids) <= set(seen) and len(seen) == first["total"]


def test_missing_token_is_401_problem_json(stack: Stack) -> None:
    response = httpx.post(f"{stack.url('intake')}/topics", json=KINDERGARTEN)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and "bearer token" in body["detail"]
    bad = httpx.post(f"{stack.url('intake')}/topics", json=KINDERGARTEN, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["detail"] == "The bearer token is not valid."


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("intake", "POST", "/topics"),
        ("intake", "GET", "/topics"),
        ("intake", "GET", "/topics/1"),
        ("talent", "POST", "/people"),
        ("talent", "GET", "/people"),
        ("evaluation", "GET", "/events"),
        ("evaluation", "POST", "/events"),
    ],
)
def test_public_token_is_refused_on_staff_endpoints(stack: Stack, service: str, method: str, path: str) -> None:
    response = httpx.request(method, stack.url(service) + path, json={}, headers=stack.auth(Role.PUBLIC))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "public" in response.json()["detail"]


def test_invalid_topic_is_422_naming_the_field_and_stores_nothing(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    before = httpx.get(f"{stack.url('intake')}/topics", params={"limit": 1}, headers=clerk).json()["total"]
    cases = [
        ({**KINDERGARTEN, "channel": "carrier_pigeon"}, "channel", "enum"),
        ({**KINDERGARTEN, "title": "x" * 201}, "title", "string_too_long"),
        ({**KINDERGARTEN, "title": "幼儿园\x07学位"}, "title", "value_error"),
        ({"title": "t", "content": "c"}, "channel", "missing"),
        ({**KINDERGARTEN, "surprise": 1}, "surprise", "extra_forbidden"),
    ]
    for body, field, rule in cases:
        response = httpx.post(f"{stack.url('intake')}/topics", json=body, headers=clerk)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert {"field": field, "rule": rule} in [
            {"field": e["field"], "rule": e["rule"]} for e in response.json()["errors"]
        ], response.text
    broken = httpx.post(
        f"{stack.url('intake')}/topics",
        content=b'{"title": "unterminated',
        headers={**clerk, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["rule"] == "json_invalid"
    after = httpx.get(f"{stack.url('intake')}/topics", params={"limit": 1}, headers=clerk).json()["total"]
    assert after == before


def test_event_recorded_once_per_key(stack: Stack) -> None:
    service = stack.auth(Role.SERVICE)
    event = {
        "event_key": f"test-retry-{stack.backend}",
        "kind": "topic_received",
        "topic_id": 999,
        "occurred_at": "2026-11-24T10:00:00+08:00",
    }
    first = httpx.post(f"{stack.url('evaluation')}/events", json=event, headers=service)
    again = httpx.post(f"{stack.url('evaluation')}/events", json=event, headers=service)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["occurred_at"] == "2026-11-24T02:00:00Z"
    listed = httpx.get(f"{stack.url('evaluation')}/events", params={"topic_id": 999}, headers=service).json()
    assert listed["total"] == 1
    clash = httpx.post(f"{stack.url('evaluation')}/events", json={**event, "kind": "other"}, headers=service)
    assert clash.status_code == 409 and clash.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("service", ["intake", "talent", "evaluation"])
def test_health_and_readiness(stack: Stack, service: str) -> None:
    assert httpx.get(stack.url(service) + "/healthz").json() == {"status": "ok", "service": service}
    ready = httpx.get(stack.url(service) + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}


def test_person_registered_and_read_back(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    body = {"kind": "talent", "display_name": "王建华", "expertise": ["学前教育"], "town": "玉蟾街道", "gender": "male"}
    created = httpx.post(f"{stack.url('talent')}/people", json=body, headers=clerk)
    assert created.status_code == 201, created.text
    read = httpx.get(f"{stack.url('talent')}/people/{created.json()['id']}", headers=clerk).json()
    assert read["expertise"] == ["学前教育"] and read["kind"] == "talent"
    missing = httpx.get(f"{stack.url('talent')}/people/999999", headers=clerk)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
