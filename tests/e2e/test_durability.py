"""Nothing accepted is lost: a topic registered while the worker or Temporal is down
reaches its workflow and its evaluation record once they are back."""

from __future__ import annotations

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.test_walking_skeleton import KINDERGARTEN, eventually
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def _events(stack: Stack, topic_id: int) -> list[dict]:
    return httpx.get(
        f"{stack.url('evaluation')}/events", params={"topic_id": topic_id}, headers=stack.auth(Role.OPERATOR)
    ).json()["items"]


def test_topic_registered_while_worker_is_dead_completes_after_restart(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    stack.devstack.kill("worker")
    try:
        topic = httpx.post(f"{stack.url('intake')}/topics", json=KINDERGARTEN, headers=clerk).json()
        # No worker can answer the query: the stage comes from the server's search attribute.
        read = httpx.get(f"{stack.url('intake')}/topics/{topic['id']}", headers=clerk, timeout=15).json()
        assert read["stage"] == "submitted"
        assert _events(stack, topic["id"]) == []
    finally:
        stack.devstack.restart("worker")
    events = eventually(lambda: _events(stack, topic["id"]), timeout=30, what="event after worker restart")
    assert [e["kind"] for e in events] == ["topic_received"]


def test_topic_registered_while_temporal_is_down_gets_its_workflow_later(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    stack.devstack.kill("temporal")
    try:
        response = httpx.post(f"{stack.url('intake')}/topics", json=KINDERGARTEN, headers=clerk, timeout=30)
        assert response.status_code == 201, response.text
        topic = response.json()
        assert topic["stage"] == "pending"  # stored; its workflow is started once Temporal is back
    finally:
        stack.devstack.restart("temporal")

    def stage() -> str | None:
        body = httpx.get(f"{stack.url('intake')}/topics/{topic['id']}", headers=clerk, timeout=15).json()
        return body["stage"] if body["stage"] == "submitted" else None

    assert eventually(stage, timeout=60, what="reconciler to start the workflow") == "submitted"
    events = eventually(lambda: _events(stack, topic["id"]), timeout=60, what="topic_received event")
    assert [e["kind"] for e in events] == ["topic_received"]
