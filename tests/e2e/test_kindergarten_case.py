"""The kindergarten case from shared/domain.md, end to end over HTTP only, with the
lifecycle on a seconds scale (one "day" = one second; tests/stack.py).

A member recommends the topic → the chair accepts it into a year's plan as a
special-topic consultation → research → participants drawn → one talent declines and is
replaced → the meeting commits "at least 3 public kindergartens within two years",
owned by the education bureau → no progress → escalation to level 2 → extension granted
→ completed → verified → satisfied → two-way evaluation → closed.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import enter_public_value, plan_year_of_its_own
from tests.e2e.test_walking_skeleton import eventually, ui_query
from tests.stack import Stack

pytestmark = pytest.mark.e2e

EDU = "教育体育局"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英志强丽华明军海燕文静晓东春梅红霞德明玉兰国庆桂芳"


def names():
    for i in itertools.count():
        yield SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 2) % len(GIVEN)] + GIVEN[(i * 3 + 1) % len(GIVEN)]


def seed_pool(stack: Stack) -> set[int]:
    """12 talents in pre-school education, 9 members, 8 public representatives; one
    talent declares a conflict with the education bureau and must never be drawn."""
    clerk = stack.auth(Role.CLERK)
    made: set[int] = set()
    name = names()
    people = (
        [{"kind": "talent", "expertise": ["学前教育"]} for _ in range(12)]
        + [{"kind": "member"} for _ in range(9)]
        + [{"kind": "public_rep"} for _ in range(8)]
    )
    people.append({"kind": "talent", "expertise": ["学前教育"], "conflict_departments": [EDU]})
    for n, person in enumerate(people):
        body = {**person, "display_name": next(name), "gender": "female" if n % 2 else "male", "town": "玉蟾街道"}
        response = httpx.post(f"{stack.url('talent')}/people", json=body, headers=clerk)
        assert response.status_code == 201, response.text
        made.add(response.json()["id"])
    return made


def intake(stack: Stack, method: str, path: str, role: Role = Role.CLERK, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{stack.url('intake')}{path}", headers=stack.auth(role), timeout=30, **kwargs)


def evaluation(stack: Stack, method: str, path: str, role: Role, **kwargs) -> httpx.Response:
    headers = stack.auth(role, department=EDU) if role is Role.DEPARTMENT else stack.auth(role)
    return httpx.request(method, f"{stack.url('evaluation')}{path}", headers=headers, timeout=30, **kwargs)


def test_kindergarten_case_from_recommendation_to_closed(stack: Stack) -> None:
    year = plan_year_of_its_own(stack)  # the 1+2+4+X check stays clear
    pool = seed_pool(stack)
    stages: list[str] = []

    def consultation() -> dict:
        body = intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json()
        if not stages or stages[-1] != body["stage"]:
            stages.append(body["stage"])
        return body

    def reach(stage: str, timeout: float = 60) -> dict:
        return eventually(lambda: (c := consultation())["stage"] == stage and c, timeout=timeout, what=stage)

    # 1. 委员荐题: a member recommends the topic.
    created = intake(stack, "POST", "/topics", json={
        "title": f"县城公办幼儿园学位严重不足-{year}",
        "content": "县城只有一所公办幼儿园，容量约1000人，每年约4000名适龄儿童需要入园；民办园远且贵。",
        "channel": "member_recommended",
    })
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    assert consultation()["stage"] == "submitted"

    # 2. The chair's meeting accepts it into the year's plan as a special-topic consultation.
    decided = intake(stack, "POST", f"/topics/{tid}/decision", Role.CHAIR, json={
        "outcome": "accepted", "format": "special_topic", "organiser": "social-law-committee",
        "plan_year": year, "venue": "cppcc-hall", "planned_month": 6,
    })
    assert decided.status_code == 201, decided.text
    reach("research")

    # 3. Research (调研) done: the draw needs pre-school expertise, no conflict with the bureau.
    research = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": "毛入园率85%，普惠性幼儿园学位占50%。", "expertise": ["学前教育"], "exclude_departments": [EDU],
    })
    assert research.status_code == 201, research.text
    enter_public_value(stack, tid, 0, "3.8.12.17.29.41./5./")
    inviting = reach("inviting")
    invited = {i["person_id"] for i in inviting["invitations"]}
    assert len(inviting["panel"]) == 19 and invited == set(inviting["panel"])  # 8 talents + 6 members + 5 public
    conflicted = max(pool)  # the last one seeded declared the conflict
    assert conflicted not in invited

    # 4. One talent declines and is replaced (a replacement round keeps the quotas).
    people = {pid: httpx.get(f"{stack.url('talent')}/people/{pid}", headers=stack.auth(Role.CLERK)).json()
              for pid in invited}
    kinds = [people[pid]["kind"] for pid in invited]
    assert (kinds.count("talent"), kinds.count("member"), kinds.count("public_rep")) == (8, 6, 5)
    assert all("学前教育" in people[pid]["expertise"] for pid in invited if people[pid]["kind"] == "talent")
    decliner = next(pid for pid in sorted(invited) if people[pid]["kind"] == "talent")
    declined = intake(stack, "POST", f"/topics/{tid}/invitations/{decliner}/answer", json={"accepted": False})
    assert declined.status_code == 200, declined.text
    enter_public_value(stack, tid, 1, "2.9.14.18.25.31./7./")
    replaced = eventually(lambda: (c := consultation()) and len(c["invitations"]) == 20 and c, what="replacement round")
    newcomer = next(i for i in replaced["invitations"] if i["round"] == 1)
    newcomer_person = httpx.get(f"{stack.url('talent')}/people/{newcomer['person_id']}", headers=stack.auth(Role.CLERK)).json()
    assert newcomer_person["kind"] == "talent" and "学前教育" in newcomer_person["expertise"]
    assert decliner not in replaced["panel"] and newcomer["person_id"] in replaced["panel"]
    again = intake(stack, "POST", f"/topics/{tid}/invitations/{decliner}/answer", json={"accepted": True})
    assert again.status_code == 409  # already answered: refused, nothing changes
    for invitation in replaced["invitations"]:
        if invitation["answer"] == "pending":
            ok = intake(stack, "POST", f"/topics/{tid}/invitations/{invitation['person_id']}/answer", json={"accepted": True})
            assert ok.status_code == 200, ok.text
    reach("meeting")

    # 5. The meeting (协商议事会): the leader commits on the spot.
    due = date.today() + timedelta(days=3)  # three "days" on this scale
    meeting = intake(stack, "POST", f"/topics/{tid}/meetings", json={
        "held_at": datetime.now(timezone.utc).isoformat(), "venue": "cppcc-hall",
        "minutes": "通报全县学前教育现状：毛入园率85%，普惠性幼儿园学位占50%。",
        "consensus": "两年内新建至少3所公办幼儿园。",
        "attendance": [{"name": "李明", "category": "member"}, {"name": "周局长", "category": "department", "organisation": EDU},
                       {"name": "刘副县长", "category": "leader"}],
        "commitments": [{"owner_department": EDU, "content": "两年内新建至少3所公办幼儿园", "due_date": due.isoformat()}],
    })
    assert meeting.status_code == 201, meeting.text
    following = reach("follow_up")
    cid = eventually(lambda: (c := consultation())["commitment_ids"] and c["commitment_ids"][0], what="commitment")
    commitment = evaluation(stack, "GET", f"/commitments/{cid}", Role.OPERATOR).json()
    assert (commitment["department"], commitment["plan_year"], commitment["consultation_topic_id"]) == (EDU, year, tid)
    assert following["stage"] == "follow_up"

    # 6. No progress: the ladder climbs to level 2 (督办); the operator's query finds it.
    def steps() -> list[str]:
        return [e["step"] for e in evaluation(stack, "GET", f"/commitments/{cid}/escalation-events", Role.OPERATOR).json()
                if e["generation"] == 0 and e["step"] != "progress_missing"]

    eventually(lambda: "committee_supervision" in steps(), timeout=40, what="督办")
    query = (f"WorkflowType = 'FollowUpWorkflow' AND Department = '{EDU}' AND EscalationLevel >= 2 "
             f"AND Overdue = true AND WorkflowId = 'followup-{cid}'")
    assert [e["execution"]["workflowId"] for e in eventually(lambda: ui_query(stack, query), what="UI query")] == [
        f"followup-{cid}"]

    # 7. Extension asked and granted: the ladder restarts from the new date.
    # 30 s: within the cap on extensions (six months = 126 working days = 126 s past the original due
    # date) even when a loaded machine took a minute and more to reach 督办.
    new_due = (datetime.now(timezone.utc) + timedelta(seconds=30)).replace(microsecond=0)
    asked = evaluation(stack, "POST", f"/commitments/{cid}/extension-requests", Role.DEPARTMENT,
                       json={"requested_due_at": new_due.isoformat(), "reason": "新园用地审批"})
    assert asked.status_code == 201, asked.text
    granted = evaluation(stack, "POST", f"/commitments/{cid}/extension-requests/{asked.json()['id']}/decision",
                         Role.COMMITTEE, json={"granted": True})
    assert granted.status_code == 201 and granted.json()["outcome"] == "accepted", granted.text
    eventually(lambda: evaluation(stack, "GET", f"/commitments/{cid}", Role.OPERATOR).json()["escalation_level"] == 0,
               what="ladder restarted")
    fired = steps()
    assert fired[:3] == ["reminder", "urge", "committee_supervision"]

    # 8. Completed → verified (委员视察) → satisfied: the follow-up closes and tells the consultation.
    for path, body, role in (
        ("completion", {"summary": "三所公办幼儿园建成开园，新增学位1080个"}, Role.DEPARTMENT),
        ("verification", {"means": "inspection", "passed": True}, Role.COMMITTEE),
        ("satisfaction", {"rating": "satisfied"}, Role.COMMITTEE),
    ):
        response = evaluation(stack, "POST", f"/commitments/{cid}/{path}", role, json=body)
        assert response.status_code == 201, response.text

    # 9. The two-way evaluation window (双向评价), then closed.
    reach("evaluation", timeout=30)
    # rater_kind follows the rater's role (docs/security.md): the department as itself,
    # a resident as the public.
    for role, body in ((Role.DEPARTMENT, {"rater_kind": "department", "aspect": "topic_precision", "score": 5}),
                       (Role.PUBLIC, {"rater_kind": "public", "aspect": "outcome_quality", "score": 4})):
        rated = evaluation(stack, "POST", "/ratings/consultations", role,
                           json={"consultation_topic_id": tid, "organiser": "social-law-committee", "plan_year": year, **body})
        assert rated.status_code == 201, rated.text
    rated = evaluation(stack, "POST", "/ratings/departments", Role.COMMITTEE, json={
        "department": EDU, "commitment_id": cid, "plan_year": year, "means": "democratic_appraisal",
        "rater_kind": "member", "score": 4})
    assert rated.status_code == 201, rated.text
    closed = reach("closed", timeout=30)
    assert closed["closed_commitment_ids"] == [cid]
    seen = iter(stages)  # every stage was observed, in order (drawing may be too quick to see)
    assert all(stage in seen for stage in
               ["submitted", "research", "inviting", "meeting", "follow_up", "evaluation", "closed"]), stages

    # The stage reads closed as soon as the workflow decides it; the closing event is
    # recorded in evaluation by the activity that follows.
    def closing_event() -> dict | None:
        events = httpx.get(f"{stack.url('evaluation')}/events", params={"topic_id": tid},
                           headers=stack.auth(Role.OPERATOR)).json()["items"]
        return next((e for e in events if e["kind"] == "consultation_closed"), None)

    summary = eventually(closing_event, timeout=30, what="the closing event")["detail"]
    assert summary == {"format": "special_topic", "organiser": "social-law-committee", "plan_year": year,
                       "panel_size": 19, "replacement_rounds": 1, "meeting_id": meeting.json()["id"],
                       "commitments": 1, "satisfaction": ["satisfied"]}

    # Scorecards of that year, asserted exactly.
    card = evaluation(stack, "GET", "/scorecards/departments", Role.CHAIR, params={"year": year, "department": EDU}).json()
    assert len(card) == 1
    card = card[0]
    assert (card["commitments"], card["completed"], card["on_time"], card["on_time_rate"]) == (1, 1, 1, 1.0)
    assert card["escalations_by_level"] == {"1": 1, "2": 1, "3": 0, "4": 0}
    assert card["satisfaction"] == {"satisfied": 1, "basically_satisfied": 0, "unsatisfied": 0}
    assert card["supervision_ratings"] == {"democratic_appraisal": 4.0}
    organisers = evaluation(stack, "GET", "/scorecards/organisers", Role.CHAIR, params={"year": year}).json()
    assert organisers == [{"organiser": "social-law-committee", "plan_year": year, "consultations_rated": 1,
                           "topic_precision": 5.0, "outcome_quality": 4.0, "ratings": 2, "commitments": 1,
                           "on_time_rate": 1.0, "late": 0, "reopenings": 0}]

    # The operator's Web UI query for the year's special-topic consultations.
    query = f"WorkflowType = 'ConsultationWorkflow' AND PlanYear = {year} AND ConsultationFormat = 'special_topic'"
    found = eventually(lambda: ui_query(stack, query), what="year query")
    assert [e["execution"]["workflowId"] for e in found] == [f"consultation-{tid}"]
    assert found[0]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"

    # Replay safety: the finished consultation's and follow-up's histories replay against
    # the current code (saved under tests/histories/ with XIESHANG_RECORD_HISTORIES=1).
    replay_and_keep(stack, [f"consultation-{tid}", f"followup-{cid}"])

    # The audit trail of the whole run holds: the real `xieshang audit verify`.
    verified = subprocess.run([sys.executable, "-m", "services.common.cli", "audit", "verify"],
                              env={**os.environ, **stack.devstack.env}, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for service in ("intake", "talent", "evaluation"):
        line = next(x for x in verified.stdout.splitlines() if x.startswith(f"{service}: "))
        assert line.endswith("chain intact") and int(line.split()[1]) > 0, line


def replay_and_keep(stack: Stack, workflow_ids: list[str]) -> None:
    import os
    from pathlib import Path

    from temporalio.worker import Replayer

    from services.common.codec import decode_in_place
    from tests.stack import _in_thread
    from workflows.worker import WORKFLOWS

    histories = Path(__file__).resolve().parents[1] / "histories"

    async def run() -> None:
        client = await stack.temporal_client()
        for workflow_id in workflow_ids:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            await Replayer(workflows=WORKFLOWS, data_converter=client.data_converter).replay_workflow(history)
            # Saved in the clear: CI replays them without this stack's payload keys.
            for event in history.events:
                await decode_in_place(event, client.data_converter.payload_codec)
            if os.environ.get("XIESHANG_RECORD_HISTORIES") and stack.backend == "sqlite":
                name = workflow_id.split("-")[0]
                (histories / f"kindergarten_{name}.json").write_text(history.to_json())

    _in_thread(run)


def test_listing_filters_on_the_stage_the_workflow_reached(stack: Stack) -> None:
    """Intake's stored stage follows the workflow (mirror_topic_stage), so GET /topics?stage=
    finds a consultation in research without asking Temporal per row."""
    year = plan_year_of_its_own(stack)
    created = intake(stack, "POST", "/topics", json={
        "title": f"乡镇敬老院护理人员不足-{year}", "content": "多个乡镇敬老院护理人员严重不足，老人照护质量难保障。",
        "channel": "party_committee_assigned"})
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    decided = intake(stack, "POST", f"/topics/{tid}/decision", Role.CHAIR, json={
        "outcome": "accepted", "format": "plenary", "organiser": "proposals-committee", "plan_year": year})
    assert decided.status_code == 201, decided.text

    def listed(stage: str) -> bool:
        page = intake(stack, "GET", "/topics", params={"stage": stage, "year": year, "limit": 200}).json()
        return tid in [t["id"] for t in page["items"]]

    assert eventually(lambda: listed("research"), what="stored stage research")
    done = intake(stack, "POST", f"/topics/{tid}/research-completion", json={"summary": "调研完成"})
    assert done.status_code == 201, done.text
    assert eventually(lambda: listed("meeting"), what="stored stage meeting")
    assert not listed("research")
