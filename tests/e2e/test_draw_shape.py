"""A consultation's own draw shape over HTTP (issue 11, part 5): the research report
sets the composition and a kind-scoped town quota ("three public representatives from
this town"), intake checks it against talent's vocabulary before storing anything, and
the quota holds in the first draw and in the replacement round after a decline."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import enter_public_value, plan_year_of_its_own
from tests.e2e.test_kindergarten_case import intake
from tests.e2e.test_walking_skeleton import eventually
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def test_a_kind_scoped_town_quota_holds_in_every_round(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:6]
    town, elsewhere = f"石桥镇{tag}", f"龙溪镇{tag}"
    clerk = stack.auth(Role.CLERK)
    kinds = ([("public_rep", town)] * 6 + [("public_rep", elsewhere)] * 4 + [("talent", elsewhere)] * 4
             + [("member", elsewhere)] * 4)
    people: dict[int, dict] = {}
    for n, (kind, where) in enumerate(kinds):
        body = {"kind": kind, "display_name": f"测试{n}号", "town": where, "gender": "female" if n % 2 else "male",
                **({"expertise": ["水利"]} if kind == "talent" else {})}
        made = httpx.post(f"{stack.url('talent')}/people", json=body, headers=clerk, timeout=30)
        assert made.status_code == 201, made.text
        people[made.json()["id"]] = made.json()

    year = plan_year_of_its_own(stack)
    created = intake(stack, "POST", "/topics", json={
        "title": f"石桥镇河道清淤-{tag}", "content": "石桥镇河道多年未清淤，汛期易漫堤，群众反映强烈。",
        "channel": "member_recommended"})
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    decided = intake(stack, "POST", f"/topics/{tid}/decision", Role.CHAIR, json={
        "outcome": "accepted", "format": "sector_micro", "organiser": "education-sector-studio",
        "plan_year": year, "venue": "cppcc-hall", "planned_month": 7})
    assert decided.status_code == 201, decided.text
    eventually(lambda: intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json()["stage"] == "research",
               what="research")

    shape = {"composition": {"talent": 2, "member": 2, "public_rep": 4},
             "quotas": [{"attribute": "town", "value": town, "min": 3, "kind": "public_rep"}]}
    # checked at intake against talent's vocabulary before anything is stored
    bad = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": "调研完成，涉及石桥镇群众。", "expertise": ["水利"],
        **shape, "quotas": [{"attribute": "gender", "value": "其他", "min": 1, "kind": "public_rep"}]})
    assert bad.status_code == 422, bad.text
    too_many = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": "调研完成，涉及石桥镇群众。", "expertise": ["水利"],
        **shape, "quotas": [{"attribute": "town", "value": town, "min": 5, "kind": "public_rep"}]})
    assert too_many.status_code == 422, too_many.text
    done = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": "调研完成，涉及石桥镇群众。", "expertise": ["水利"], **shape})
    assert done.status_code == 201, done.text
    assert done.json()["quotas"][0]["kind"] == "public_rep" and done.json()["composition"]["public_rep"] == 4

    def from_town(panel: list[int]) -> int:
        return sum(1 for pid in panel if pid in people and people[pid]["kind"] == "public_rep"
                   and people[pid]["town"] == town)

    def reveal(round_: int) -> dict:
        enter_public_value(stack, tid, round_, f"{round_ + 1}.7./")
        return eventually(lambda: (c := intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json())
                          ["stage"] == "inviting" and c["announcement"] is None and c, what="inviting")

    first = reveal(0)
    assert len(first["panel"]) == 8 and from_town(first["panel"]) >= 3
    decliner = next(pid for pid in sorted(first["panel"]) if pid in people and people[pid]["town"] == town
                    and people[pid]["kind"] == "public_rep")
    answered = intake(stack, "POST", f"/topics/{tid}/invitations/{decliner}/answer", json={"accepted": False})
    assert answered.status_code == 200, answered.text
    second = reveal(1)
    assert decliner not in second["panel"] and len(second["panel"]) == 8
    assert from_town(second["panel"]) >= 3
    # talent's record of the replacement round carries the same scoped quota and verifies
    verified = httpx.get(f"{stack.url('talent')}/draws/{second['draw_id']}/verify",
                         headers=stack.auth(Role.OPERATOR), timeout=30).json()
    assert verified["ok"], verified
