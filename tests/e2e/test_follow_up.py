"""Commitments nobody can forget: the escalation ladder in seconds on a real Temporal
server, across a worker crash, an extension and reopenings after "unsatisfied"."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.test_walking_skeleton import eventually, ui_query
from tests.stack import Stack

pytestmark = pytest.mark.e2e

EDU = "教育体育局"
LADDER = ["reminder", "urge", "committee_supervision", "meeting_supervision", "circulated_notice"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_commitment(stack: Stack, *, due_in: float, scale: float, department: str = EDU, **extra: Any) -> dict:
    body = {
        "consultation_topic_id": 1,
        "department": department,
        "leader_in_charge": "分管副县长",
        "content": "两年内新建至少3所公办幼儿园",
        "due_at": (_now() + timedelta(seconds=due_in)).isoformat(),
        "policy": "seconds",
        "seconds_scale": scale,
        "organiser": "教科卫体委",
        "plan_year": 2026,
        **extra,
    }
    response = httpx.post(f"{stack.url('evaluation')}/commitments", json=body, headers=stack.auth(Role.CLERK))
    assert response.status_code == 201, response.text
    return response.json()


def commitment(stack: Stack, cid: int) -> dict:
    return httpx.get(f"{stack.url('evaluation')}/commitments/{cid}", headers=stack.auth(Role.OPERATOR)).json()


def escalations(stack: Stack, cid: int) -> list[dict]:
    return httpx.get(
        f"{stack.url('evaluation')}/commitments/{cid}/escalation-events", headers=stack.auth(Role.OPERATOR)
    ).json()


def act(stack: Stack, cid: int, path: str, body: dict, role: Role = Role.DEPARTMENT, **headers: str) -> httpx.Response:
    auth = stack.auth(role, department=EDU) if role is Role.DEPARTMENT else stack.auth(role)
    return httpx.post(f"{stack.url('evaluation')}/commitments/{cid}/{path}", json=body, headers={**auth, **headers},
                      timeout=20)


def ladder_steps(events: list[dict], generation: int = 0) -> list[str]:
    return [e["step"] for e in events if e["generation"] == generation and e["step"] != "progress_missing"]


def test_full_ladder_survives_a_worker_crash_with_every_step_once(stack: Stack) -> None:
    # One working day = 0.3 s: reminder 3 s before due, 催办 +0.3 s, 督办 +3 s, 会议督办 +6 s, 文件通报 +9 s.
    c = create_commitment(stack, due_in=2, scale=0.3)
    cid = c["id"]
    assert c["workflow_id"] == f"followup-{cid}"
    eventually(lambda: "committee_supervision" in ladder_steps(escalations(stack, cid)), timeout=30,
               what="督办 before the crash")
    # Kill while the workflow waits for the next rung (so 会议督办 falls due while the
    # worker is dead), not while its state is being mirrored.
    eventually(lambda: commitment(stack, cid)["escalation_level"] == 2, what="督办 mirrored before the crash")
    time.sleep(0.3)
    stack.devstack.kill("worker")  # SIGKILL mid-ladder: 会议督办 falls due while it is dead
    time.sleep(4)
    stack.devstack.restart("worker")
    # An activity in flight at the SIGKILL is retried only once its start-to-close timeout
    # (60 s, workflows/attention.py) has run out, then the ladder catches up at once.
    eventually(lambda: "circulated_notice" in ladder_steps(escalations(stack, cid)), timeout=100,
               what="文件通报 after the restart")
    time.sleep(1)  # anything fired twice would show up by now
    events = escalations(stack, cid)
    assert ladder_steps(events) == LADDER
    assert [e["level"] for e in events if e["step"] in LADDER] == [0, 1, 2, 3, 4]
    assert all(e["fired_at"] >= e["planned_at"] for e in events)
    state = eventually(lambda: (s := commitment(stack, cid))["escalation_level"] == 4 and s, what="level mirrored")
    assert state["status"] == "open"

    # What an operator types in the Web UI: overdue at level 2 or above for the education bureau.
    query = (f"WorkflowType = 'FollowUpWorkflow' AND Department = '{EDU}' AND EscalationLevel >= 2 "
             f"AND Overdue = true AND WorkflowId = 'followup-{cid}'")
    found = eventually(lambda: ui_query(stack, query), what="operator query")
    assert [e["execution"]["workflowId"] for e in found] == [f"followup-{cid}"]

    # Each rung was notified to the webhook (at least once, deduplicable by event id),
    # to a circle that widens with the level.
    def ladder_notices() -> list[dict]:
        return [n for n in stack.notifications_for(cid) if n["kind"] != "escalation.progress_missing"]

    notices = eventually(lambda: len(n := ladder_notices()) >= len(LADDER) and n, what="notifications")
    by_kind = {n["kind"]: n for n in notices}
    assert sorted(by_kind) == sorted(f"escalation.{step}" for step in LADDER)
    assert len({n["event_id"] for n in notices}) == len(LADDER)
    assert by_kind["escalation.reminder"]["recipients"] == [f"department:{EDU}"]
    assert "office:county_government" in by_kind["escalation.circulated_notice"]["recipients"]
    assert by_kind["escalation.committee_supervision"]["payload"]["level"] == 2


def test_extension_restarts_the_ladder_and_closing_after_satisfied(stack: Stack) -> None:
    c = create_commitment(stack, due_in=1, scale=0.3)
    cid = c["id"]
    eventually(lambda: "urge" in ladder_steps(escalations(stack, cid)), timeout=30, what="催办")
    # Within the cap on extensions: six months = 126 working days = 37.8 s past the original due date.
    new_due = (datetime.fromisoformat(c["original_due_at"]) + timedelta(seconds=36)).replace(microsecond=0)
    asked = act(stack, cid, "extension-requests", {"requested_due_at": new_due.isoformat(), "reason": "用地审批未完成"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["outcome"] == "recorded"
    # A department cannot decide its own extension.
    refused_role = act(stack, cid, f"extension-requests/{asked.json()['id']}/decision", {"granted": True})
    assert refused_role.status_code == 403
    granted = act(stack, cid, f"extension-requests/{asked.json()['id']}/decision", {"granted": True}, role=Role.COMMITTEE)
    assert granted.status_code == 201, granted.text
    assert granted.json()["outcome"] == "accepted"
    again = act(stack, cid, f"extension-requests/{asked.json()['id']}/decision", {"granted": True}, role=Role.COMMITTEE)
    assert again.status_code == 409  # decided already

    state = eventually(lambda: (s := commitment(stack, cid))["escalation_level"] == 0 and s, what="ladder restarted")
    assert datetime.fromisoformat(state["due_at"]) == new_due
    assert state["status"] == "open"
    time.sleep(1)
    assert ladder_steps(escalations(stack, cid), generation=1) == []  # the new due is half a minute away

    # Verification before completion does not fit the stage: refused, nothing stored.
    early = act(stack, cid, "verification", {"means": "inspection", "passed": True}, role=Role.COMMITTEE)
    assert early.status_code == 409 and early.headers["content-type"] == "application/problem+json"
    assert "completed" in early.json()["detail"]
    kinds = [a["kind"] for a in httpx.get(f"{stack.url('evaluation')}/commitments/{cid}/actions",
                                          headers=stack.auth(Role.OPERATOR)).json()]
    assert kinds == ["extension_request", "extension_granted"]

    assert act(stack, cid, "progress-reports", {"content": "已选址两处", "percent_done": 40}).status_code == 201
    done = act(stack, cid, "completion", {"summary": "三所公办幼儿园已建成开园"}, **{"Idempotency-Key": f"done-{cid}"})
    assert done.status_code == 201
    retry = act(stack, cid, "completion", {"summary": "三所公办幼儿园已建成开园"}, **{"Idempotency-Key": f"done-{cid}"})
    assert retry.status_code == 201 and retry.json()["id"] == done.json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert act(stack, cid, "verification", {"means": "inspection", "passed": True}, role=Role.COMMITTEE).status_code == 201
    assert act(stack, cid, "satisfaction", {"rating": "satisfied"}, role=Role.COMMITTEE).status_code == 201
    closed = eventually(lambda: (s := commitment(stack, cid))["status"] == "closed" and s, what="closed")
    assert closed["satisfaction"] == "satisfied" and closed["completed_at"] and closed["closed_at"]


def test_unsatisfied_reopens_then_escalates_to_the_top(stack: Stack) -> None:
    c = create_commitment(stack, due_in=120, scale=0.3)  # max_reopenings = 1 (production policy)
    cid = c["id"]

    def finish(rating: str) -> None:
        for path, body, role in (
            ("completion", {"summary": "已办结"}, Role.DEPARTMENT),
            ("verification", {"means": "democratic_appraisal", "passed": True}, Role.COMMITTEE),
            ("satisfaction", {"rating": rating}, Role.COMMITTEE),
        ):
            response = eventually(
                lambda: (r := act(stack, cid, path, body, role=role)).status_code != 409 and r,
                what=f"{path} accepted",
            )
            assert response.status_code == 201, response.text

    finish("unsatisfied")
    reopened = eventually(lambda: (s := commitment(stack, cid))["reopenings"] == 1 and s, what="reopened")
    assert reopened["status"] == "open" and reopened["escalation_level"] == 0
    # Handled again within 20 working days = 6 s.
    assert datetime.fromisoformat(reopened["due_at"]) < _now() + timedelta(seconds=10)

    finish("unsatisfied")
    top = eventually(lambda: (s := commitment(stack, cid))["escalation_level"] == 4 and s, what="top of the ladder")
    assert top["reopenings"] == 1 and top["status"] == "open"
    tops = [e for e in escalations(stack, cid) if e["event_key"].endswith("unsatisfied-top")]
    assert [(e["step"], e["level"]) for e in tops] == [("circulated_notice", 4)]

    # Each time 不满意 sent it back (a reopening, then the top of the ladder), the department
    # and the office heard of it through the outbox (the webhook received it).
    def reopened_notices() -> list[dict]:
        return [b for b in stack.notifications_for(cid) if b["kind"] == "commitment.reopened"]

    notices = eventually(lambda: len(n := reopened_notices()) == 2 and n, timeout=30, what="two reopened notices")
    assert all({f"department:{EDU}", "office:cppcc"} <= set(n["recipients"]) for n in notices)
    assert [n["payload"]["reopenings"] for n in notices] == [1, 1]

    finish("basically_satisfied")
    closed = eventually(lambda: (s := commitment(stack, cid))["status"] == "closed" and s, what="closed")
    assert closed["satisfaction"] == "basically_satisfied"


def test_departments_see_only_their_own_commitments(stack: Stack) -> None:
    other = create_commitment(stack, due_in=600, scale=1, department="住房城乡建设局")
    mine = httpx.get(f"{stack.url('evaluation')}/commitments", params={"limit": 200},
                     headers=stack.auth(Role.DEPARTMENT, department=EDU)).json()
    assert mine["items"] and {c["department"] for c in mine["items"]} == {EDU}
    forbidden = httpx.get(f"{stack.url('evaluation')}/commitments/{other['id']}",
                          headers=stack.auth(Role.DEPARTMENT, department=EDU))
    assert forbidden.status_code == 403
    wrong = act(stack, other["id"], "progress-reports", {"content": "x"})
    assert wrong.status_code == 403


def test_timers_survive_a_temporal_restart_on_the_same_database(stack: Stack) -> None:
    c = create_commitment(stack, due_in=1, scale=0.5)  # 督办 at +5 s, 会议督办 +10 s, 文件通报 +15 s
    cid = c["id"]
    eventually(lambda: "urge" in ladder_steps(escalations(stack, cid)), timeout=30, what="催办")
    stack.devstack.kill("temporal")  # SIGKILL: the server's state is only what its database kept
    time.sleep(2)
    stack.devstack.restart("temporal")
    eventually(lambda: "circulated_notice" in ladder_steps(escalations(stack, cid)), timeout=60,
               what="the rest of the ladder after the server restart")
    time.sleep(1)
    assert ladder_steps(escalations(stack, cid)) == LADDER
