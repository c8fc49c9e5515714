"""A consultation whose draw talent refuses does not end Failed: it waits for staff
(待处理), and after the fix it reaches ``closed`` — over HTTP only (issue 9, part 2).

- The pool cannot meet the quotas (no talent from the town the quota names with the
  expertise the research asks for): staff extend the pool in talent, then resume.
- The research report asks for an expertise the pool cannot serve there: staff resume
  with an amended report. (An expertise outside talent's vocabulary is refused by intake at the
  edge now, 422; the workflow-level unknown-vocabulary case is a unit test:
  tests/unit/test_needs_attention.py.)
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import enter_public_value, plan_year_of_its_own
from tests.e2e.test_walking_skeleton import eventually, ui_query
from tests.stack import Stack

pytestmark = pytest.mark.e2e

_names = (f"测试{chr(0x4E00 + i)}{chr(0x4E80 + i)}" for i in itertools.count())


def add_people(stack: Stack, kind: str, n: int, expertise: list[str] | None = None, town: str = "玉蟾街道") -> None:
    for i in range(n):
        body = {"kind": kind, "display_name": next(_names), "gender": "female" if i % 2 else "male", "town": town}
        if expertise:
            body["expertise"] = expertise
        response = httpx.post(f"{stack.url('talent')}/people", json=body, headers=stack.auth(Role.CLERK), timeout=30)
        assert response.status_code == 201, response.text


def town_of_its_own() -> str:
    """A town nobody in the pool lives in yet. The pool is shared by the session's tests
    (test_talent_api's imports offer every expertise field), so infeasibility is made with
    a quota of talents from this town, which only this test populates."""
    return f"测试镇{uuid.uuid4().hex[:6]}"


def talent_from(town: str) -> dict:
    return {"attribute": "town", "value": town, "min": 1, "kind": "talent"}


def intake(stack: Stack, method: str, path: str, role: Role = Role.CLERK, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{stack.url('intake')}{path}", headers=stack.auth(role), timeout=30, **kwargs)


def consultation(stack: Stack, tid: int) -> dict:
    return intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json()


def reach(stack: Stack, tid: int, stage: str, timeout: float = 60) -> dict:
    return eventually(lambda: (c := consultation(stack, tid))["stage"] == stage and c, timeout=timeout, what=stage)


def accepted_topic_in_research(stack: Stack, title: str) -> int:
    year = plan_year_of_its_own(stack, first=2061, years=40)
    created = intake(stack, "POST", "/topics", json={"title": f"{title}-{year}", "content": f"{title}，群众反映强烈。",
                                                     "channel": "member_recommended"})
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    decided = intake(stack, "POST", f"/topics/{tid}/decision", Role.CHAIR, json={
        "outcome": "accepted", "format": "sector_micro", "organiser": "liaison-studio", "plan_year": year})
    assert decided.status_code == 201, decided.text
    reach(stack, tid, "research")
    return tid


def waits_for_staff(stack: Stack, tid: int) -> dict:
    """The visible 待处理 state: status field, search attribute, notice to the office."""
    waiting = eventually(lambda: (c := consultation(stack, tid))["needs_attention"] and c, timeout=60,
                         what="needs attention")
    attention = waiting["needs_attention"]
    # The reason is talent's problem: too few eligible for the quotas.
    assert attention["step"] == "draw_participants" and "infeasible-quotas" in attention["reason"], attention
    assert waiting["stage"] == "drawing"
    eventually(lambda: ui_query(stack, f"NeedsAttention = 'draw_participants' AND WorkflowId = 'consultation-{tid}'"),
               what="NeedsAttention search attribute")
    notices = httpx.get(f"{stack.url('evaluation')}/notifications", params={"kind": "consultation.needs_attention",
                        "limit": 200}, headers=stack.auth(Role.OPERATOR), timeout=30).json()["items"]
    assert any(n["payload"]["topic_id"] == tid and n["payload"]["step"] == "draw_participants" for n in notices)
    # Nothing failed: the run is still running, waiting.
    assert not ui_query(stack, f"ExecutionStatus = 'Failed' AND WorkflowId = 'consultation-{tid}'")
    return attention


def finish(stack: Stack, tid: int) -> dict:
    """The draw's public value entered, invitations accepted, the meeting held (no
    commitments), the evaluation window: closed."""
    enter_public_value(stack, tid)
    inviting = reach(stack, tid, "inviting")
    assert inviting["needs_attention"] is None
    for invitation in inviting["invitations"]:
        ok = intake(stack, "POST", f"/topics/{tid}/invitations/{invitation['person_id']}/answer", json={"accepted": True})
        assert ok.status_code == 200, ok.text
    reach(stack, tid, "meeting")
    meeting = intake(stack, "POST", f"/topics/{tid}/meetings", json={
        "held_at": datetime.now(UTC).isoformat(), "minutes": "充分协商。", "consensus": "形成共识。",
        "attendance": [{"name": "李明", "category": "member"}]})
    assert meeting.status_code == 201, meeting.text
    closed = reach(stack, tid, "closed", timeout=60)
    # Closed, then the closing event is recorded and the run completes: Completed, not Failed.
    eventually(lambda: ui_query(stack, f"ExecutionStatus = 'Completed' AND WorkflowId = 'consultation-{tid}'"),
               timeout=30, what="the run completed")
    return closed


def test_infeasible_pool_waits_for_staff_then_an_extended_pool_closes(stack: Stack) -> None:
    town = town_of_its_own()
    add_people(stack, "member", 3)
    add_people(stack, "public_rep", 4)
    tid = accepted_topic_in_research(stack, "食品摊贩监管")
    research = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": "夜市食品摊贩缺乏监管。", "expertise": ["食品安全"], "exclude_departments": [],
        "quotas": [talent_from(town)]})
    assert research.status_code == 201, research.text
    waits_for_staff(stack, tid)
    add_people(stack, "talent", 3, ["食品安全"], town=town)  # staff extend the pool
    resumed = intake(stack, "POST", f"/topics/{tid}/consultation/resume", json={})
    assert resumed.status_code == 200, resumed.text
    assert finish(stack, tid)["panel"]
    # Nothing waits any more: a second resume is refused.
    again = intake(stack, "POST", f"/topics/{tid}/consultation/resume", json={})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"


def test_refused_draw_waits_for_staff_then_an_amended_report_closes(stack: Stack) -> None:
    town = town_of_its_own()
    add_people(stack, "member", 3)
    add_people(stack, "public_rep", 4)
    add_people(stack, "talent", 3, ["工业经济"], town=town)
    tid = accepted_topic_in_research(stack, "工业园区招工难")
    research = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": "园区企业招工难。", "expertise": ["文化旅游"], "exclude_departments": [],
        "quotas": [talent_from(town)]})
    assert research.status_code == 201, research.text
    waits_for_staff(stack, tid)
    # An amendment with a word outside talent's vocabulary is refused at the edge.
    bad = intake(stack, "POST", f"/topics/{tid}/consultation/resume",
                 json={"research": {"summary": "修订", "expertise": ["炼金术"], "exclude_departments": []}})
    assert bad.status_code == 422, bad.text
    resumed = intake(stack, "POST", f"/topics/{tid}/consultation/resume", json={
        "research": {"summary": "调研修订：需要工业经济方面的人才。", "expertise": ["工业经济"], "exclude_departments": [],
                     "quotas": [talent_from(town)]}})
    assert resumed.status_code == 200, resumed.text
    closed = finish(stack, tid)
    talents = [httpx.get(f"{stack.url('talent')}/people/{pid}", headers=stack.auth(Role.CLERK), timeout=30).json()
               for pid in closed["panel"]]
    assert all("工业经济" in p["expertise"] for p in talents if p["kind"] == "talent")
