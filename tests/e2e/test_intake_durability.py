"""A decision sent while no worker runs is kept as pending and delivered by the
reconciler once the worker is back: stored first, nothing lost, nothing doubled. The
answer is the delivery rule's 503: Retry-After, ``stored`` and ``will_be_delivered``."""

from __future__ import annotations

import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import get, new_topic, post
from tests.e2e.test_walking_skeleton import eventually, ui_query
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def test_decision_without_a_worker_is_delivered_later(stack: Stack) -> None:
    chair = stack.auth(Role.CHAIR)
    topic = new_topic(stack, "农村饮水安全（待送达）", "立石镇部分村组自来水浑浊，夏季经常停水，建议改造供水管网。")
    eventually(lambda: ui_query(stack, f"ConsultationStage='submitted' AND WorkflowId='{topic['workflow_id']}'"),
               what="workflow running")
    stack.devstack.kill("worker")
    try:
        response = post(stack, f"/topics/{topic['id']}/decision",
                        {"outcome": "accepted", "format": "sector_micro", "organiser": "liaison-studio", "plan_year": 2034},
                        chair)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] and response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["stored"], body["will_be_delivered"], body["delivery"]) == (True, True, "pending")
        assert get(stack, f"/topics/{topic['id']}/decision", chair).json()["delivery"] == "pending"
        # It holds its place: a second decision is refused meanwhile.
        assert post(stack, f"/topics/{topic['id']}/decision", {"outcome": "rejected", "reason": "x"}, chair).status_code == 409
    finally:
        stack.devstack.restart("worker")

    def delivered() -> dict | None:
        decision = get(stack, f"/topics/{topic['id']}/decision", chair).json()
        return decision if decision["delivery"] == "delivered" else None

    decision = eventually(delivered, timeout=60, what="reconciler to deliver the decision")
    assert decision["stage"] == "accepted"
    assert get(stack, f"/topics/{topic['id']}", chair).json()["stage"] in ("accepted", "research")  # research follows
    eventually(lambda: ui_query(stack, f"PlanYear=2034 AND Organiser='liaison-studio' AND WorkflowId='{topic['workflow_id']}'"),
               what="plan attributes")
    assert [e["topic_id"] for e in get(stack, "/plans/2034", chair).json()["entries"]] == [topic["id"]]
