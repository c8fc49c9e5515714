"""Scorecards computed from real follow-up runs, asserted exactly; and provisional
deadlines recomputed when staff load a year's official schedule."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.test_follow_up import escalations, ladder_steps
from tests.e2e.test_walking_skeleton import eventually, ui_query
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def _post(stack: Stack, path: str, body: dict, role: Role, department: str | None = None) -> httpx.Response:
    headers = stack.auth(role, department=department) if department else stack.auth(role)
    return httpx.post(f"{stack.url('evaluation')}{path}", json=body, headers=headers, timeout=20)


def test_department_and_organiser_scorecards_from_real_runs(stack: Stack) -> None:
    dept = f"卫生健康局-{uuid.uuid4().hex[:6]}"
    organiser = f"教科卫体委-{uuid.uuid4().hex[:6]}"
    now = datetime.now(timezone.utc)

    def commit(due_in: float) -> int:
        body = {"consultation_topic_id": 7, "department": dept, "content": "乡镇卫生院全科医生每院不少于2名",
                "due_at": (now + timedelta(seconds=due_in)).isoformat(), "policy": "seconds", "seconds_scale": 0.5,
                "organiser": organiser, "plan_year": 2027}
        response = _post(stack, "/commitments", body, Role.CLERK)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def finish(cid: int, rating: str) -> None:
        for path, body, role in (
            ("completion", {"summary": "已办结"}, Role.DEPARTMENT),
            ("verification", {"means": "inspection", "passed": True}, Role.COMMITTEE),
            ("satisfaction", {"rating": rating}, Role.COMMITTEE),
        ):
            response = _post(stack, f"/commitments/{cid}/{path}", body, role, department=dept if role is Role.DEPARTMENT else None)
            assert response.status_code == 201, response.text

    late = commit(due_in=1)  # 催办 at +0.5 s, 督办 at +5 s, 会议督办 at +10 s
    eventually(lambda: "committee_supervision" in ladder_steps(escalations(stack, late)), timeout=30, what="督办")
    finish(late, "basically_satisfied")
    on_time = commit(due_in=300)
    finish(on_time, "satisfied")
    eventually(lambda: all(
        httpx.get(f"{stack.url('evaluation')}/commitments/{c}", headers=stack.auth(Role.OPERATOR)).json()["status"]
        == "closed" for c in (late, on_time)), what="both closed")

    for means, score in (("inspection", 4), ("democratic_appraisal", 3), ("democratic_appraisal", 5)):
        r = _post(stack, "/ratings/departments", {"department": dept, "plan_year": 2027, "means": means,
                                                  "rater_kind": "member", "score": score}, Role.COMMITTEE)
        assert r.status_code == 201, r.text
    # rater_kind follows the rater's role (docs/security.md)
    for kind, aspect, score, role in (("department", "topic_precision", 5, Role.DEPARTMENT),
                                      ("public", "topic_precision", 4, Role.PUBLIC),
                                      ("party_government", "outcome_quality", 4, Role.CLERK)):
        r = _post(stack, "/ratings/consultations", {"consultation_topic_id": 7, "organiser": organiser, "plan_year": 2027,
                                                    "rater_kind": kind, "aspect": aspect, "score": score}, role,
                  department=dept if role is Role.DEPARTMENT else None)
        assert r.status_code == 201, r.text

    cards = httpx.get(f"{stack.url('evaluation')}/scorecards/departments", params={"year": 2027, "department": dept},
                      headers=stack.auth(Role.CHAIR)).json()
    assert len(cards) == 1
    card = cards[0]
    late_seconds = card.pop("average_delay_seconds")
    assert card == {
        "department": dept, "plan_year": 2027, "average_delay_days": 0.0, "commitments": 2, "completed": 2, "on_time": 1, "on_time_rate": 0.5,
        "open_overdue": 0, "reminders": 1, "progress_reminders": 0,  # the on-time one never neared its due date
        "escalations_by_level": {"1": 1, "2": 1, "3": 0, "4": 0},
        "satisfaction": {"satisfied": 1, "basically_satisfied": 1, "unsatisfied": 0},
        "supervision_ratings": {"democratic_appraisal": 4.0, "inspection": 4.0}, "supervision_rating_count": 3,
        "late": 1, "reopenings": 0,
        "satisfaction_handling": {"satisfied": 0, "basically_satisfied": 0, "unsatisfied": 0},
        "satisfaction_outcome": {"satisfied": 1, "basically_satisfied": 1, "unsatisfied": 0},
    }
    # Completed between 督办 (+5 s) and 会议督办 (+10 s) after the due date.
    assert 5 <= late_seconds < 10

    csv_text = httpx.get(f"{stack.url('evaluation')}/scorecards/departments",
                         params={"year": 2027, "department": dept, "format": "csv"}, headers=stack.auth(Role.CHAIR))
    assert csv_text.headers["content-type"].startswith("text/csv")
    header, row = csv_text.text.strip().splitlines()
    assert "escalations_by_level.2" in header.split(",") and row.startswith(dept + ",2027,2,2,1,0.5,0.0,")

    organisers = httpx.get(f"{stack.url('evaluation')}/scorecards/organisers", params={"year": 2027},
                           headers=stack.auth(Role.CHAIR)).json()
    mine = [o for o in organisers if o["organiser"] == organiser]
    assert mine == [{"organiser": organiser, "plan_year": 2027, "consultations_rated": 1, "topic_precision": 4.5,
                     "outcome_quality": 4.0, "ratings": 3, "commitments": 2, "on_time_rate": 0.5,
                     "late": 1, "reopenings": 0}]
    assert httpx.get(f"{stack.url('evaluation')}/scorecards/departments",
                     headers=stack.auth(Role.DEPARTMENT, department=dept)).status_code == 403


def test_provisional_deadline_is_recomputed_when_the_schedule_is_loaded(stack: Stack) -> None:
    year = 2031  # beyond what the calendar package knows: Monday–Friday, provisional
    due = datetime(year, 10, 8, 9, 30, tzinfo=timezone.utc)  # a Wednesday
    body = {"consultation_topic_id": 9, "department": "交通运输局", "content": "县道X012改造完工",
            "due_at": due.isoformat(), "policy": "production", "plan_year": year}
    cid = _post(stack, "/commitments", body, Role.CLERK).json()["id"]
    wid = f"followup-{cid}"
    eventually(lambda: ui_query(stack, f"WorkflowId = '{wid}' AND DeadlineProvisional = true"), timeout=30,
               what="provisional flag")

    # A test schedule for that year (not a real notice): October 1–9 off, Saturday
    # October 11 a make-up workday.
    schedule = {
        "year": year,
        "holidays": [{"date": f"{year}-10-{d:02d}", "name": "国庆节"} for d in range(1, 10)],
        "make_up_workdays": [{"date": f"{year}-10-11", "name": "国庆节调休"}],
        "source": "test schedule",
    }
    loaded = httpx.put(f"{stack.url('evaluation')}/calendar/schedules/{year}", json=schedule,
                       headers=stack.auth(Role.CLERK), timeout=30)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["follow_ups_replanned"] >= 1
    eventually(lambda: ui_query(stack, f"WorkflowId = '{wid}' AND DeadlineProvisional = false"), timeout=30,
               what="deadline no longer provisional")
    # The due day fell in the holiday: it moves to the next working day, Friday 10-10.
    state = eventually(
        lambda: (c := httpx.get(f"{stack.url('evaluation')}/commitments/{cid}", headers=stack.auth(Role.OPERATOR)).json())
        and c["due_at"].startswith(f"{year}-10-10") and c, what="due date moved to the next working day")
    assert state["status"] == "open"
    listed = httpx.get(f"{stack.url('evaluation')}/calendar/schedules", headers=stack.auth(Role.OPERATOR)).json()
    assert year in [s["year"] for s in listed["items"]]
    bad = httpx.put(f"{stack.url('evaluation')}/calendar/schedules/{year}",
                    json={**schedule, "make_up_workdays": [{"date": f"{year}-10-02"}]}, headers=stack.auth(Role.CLERK))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
