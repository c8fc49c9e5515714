"""Proposal handling over HTTP on a real stack (issue 13 parts 3, 4, 5, 6): an objection
and the reassignment that moves the timers; co-handlers escalated apart; a B reply
answered again as A; a withheld reply that never reaches the public API; a department
that never delivers scoring 0% on time; the notices each change sends.

Seconds-scale policies keep each test to seconds: one working day = ``scale`` seconds."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.test_walking_skeleton import eventually
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def _call(stack: Stack, method: str, path: str, role: Role, body: dict | None = None, department: str | None = None,
          **params: Any) -> httpx.Response:
    auth = stack.auth(role, department=department) if department else stack.auth(role)
    return httpx.request(method, f"{stack.url('evaluation')}{path}", json=body, params=params or None, headers=auth,
                         timeout=20)


def _commit(stack: Stack, department: str, *, due_in: float, scale: float, topic: int = 13, **extra: Any) -> dict:
    body = {"consultation_topic_id": topic, "department": department, "content": "新建3所公办幼儿园",
            "due_at": (_now() + timedelta(seconds=due_in)).isoformat(), "policy": "seconds", "seconds_scale": scale,
            "organiser": "教科卫体委", "plan_year": 2026, **extra}
    response = _call(stack, "POST", "/commitments", Role.CLERK, body)
    assert response.status_code == 201, response.text
    return response.json()


def _events(stack: Stack, cid: int) -> list[dict]:
    return _call(stack, "GET", f"/commitments/{cid}/escalation-events", Role.OPERATOR).json()


def _notices(stack: Stack, kind: str, cid: int) -> list[dict]:
    items = _call(stack, "GET", "/notifications", Role.OPERATOR, kind=kind, limit=200).json()["items"]
    return [n for n in items if n["payload"].get("commitment_id") == cid]


def _public(stack: Stack, topic: int) -> list[dict]:
    response = httpx.get(f"{stack.url('evaluation')}/public/commitments", params={"topic_id": topic}, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def replay_and_keep(stack: Stack, runs: dict[str, str], absent: tuple[str, ...] = ()) -> None:
    """The runs just made replay against the current code; none of ``absent`` (personal
    data) is in their decoded histories; with XIESHANG_RECORD_HISTORIES=1 (SQLite) they
    are saved, decoded, under tests/histories/ as ``<name>.json``."""
    import os
    from pathlib import Path

    from temporalio.worker import Replayer

    from services.common.codec import decode_in_place
    from tests.stack import _in_thread
    from workflows.worker import WORKFLOWS

    histories = Path(__file__).resolve().parents[1] / "histories"

    async def run() -> None:
        client = await stack.temporal_client()
        for workflow_id, name in runs.items():
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            await Replayer(workflows=WORKFLOWS, data_converter=client.data_converter).replay_workflow(history)
            for event in history.events:
                await decode_in_place(event, client.data_converter.payload_codec)
            text = history.to_json()
            assert not [a for a in absent if a in text or json.dumps(a)[1:-1] in text], workflow_id
            if os.environ.get("XIESHANG_RECORD_HISTORIES") and stack.backend == "sqlite":
                (histories / f"{name}.json").write_text(text)

    _in_thread(run)


def test_objection_then_reassignment_moves_the_timers_to_the_new_owner(stack: Stack) -> None:
    wrong, right = _unique("水利局"), _unique("住建局")
    c = _commit(stack, wrong, due_in=60, scale=1.0)  # objection window: 5 working days = 5 s
    cid = c["id"]
    objection = _call(stack, "POST", f"/commitments/{cid}/objections", Role.DEPARTMENT,
                      {"reason": "城区供水管网改造不属我局职责"}, department=wrong)
    assert objection.status_code == 201, objection.text
    oid = objection.json()["id"]
    again = _call(stack, "POST", f"/commitments/{cid}/objections", Role.DEPARTMENT, {"reason": "再次"}, department=wrong)
    assert again.status_code == 409  # one objection at a time
    assert _notices(stack, "assignment.objected", cid)

    # The office reassigns with a due date 12 s ahead: the reminder (10 working days before) is due at once.
    decision = _call(stack, "POST", f"/commitments/{cid}/objections/{oid}/decision", Role.CLERK,
                     {"reassign_to": right, "new_due_at": (_now() + timedelta(seconds=12)).isoformat(),
                      "note": "改由住建局主办"})
    assert decision.status_code == 200, decision.text
    assert (decision.json()["status"], decision.json()["reassigned_to"]) == ("reassigned", right)
    record = _call(stack, "GET", f"/commitments/{cid}", Role.OPERATOR).json()
    assert record["department"] == right
    assert _call(stack, "GET", f"/commitments/{cid}", Role.DEPARTMENT, department=wrong).status_code == 403
    kept = _call(stack, "GET", f"/commitments/{cid}/objections", Role.OPERATOR).json()
    assert [(o["status"], o["reason"], o["department"]) for o in kept] == [("reassigned", "城区供水管网改造不属我局职责", wrong)]
    moved = _notices(stack, "assignment.reassigned", cid)
    assert len(moved) == 1 and {f"department:{wrong}", f"department:{right}"} <= set(moved[0]["recipients"])

    # The ladder restarted for the new owner: its reminder (generation 1) reaches the new department.
    eventually(lambda: [e for e in _events(stack, cid) if e["generation"] == 1 and e["step"] == "reminder"],
               timeout=20, what="the new owner's reminder")
    reminders = [n for n in _notices(stack, "escalation.reminder", cid)]
    assert reminders and all(f"department:{right}" in n["recipients"] and f"department:{wrong}" not in n["recipients"]
                             for n in reminders)
    # The new owner works on it; the old one cannot.
    progress = _call(stack, "POST", f"/commitments/{cid}/progress-reports", Role.DEPARTMENT,
                     {"content": "已接手"}, department=right)
    assert progress.status_code == 201, progress.text
    replay_and_keep(stack, {c["workflow_id"]: "handling_followup_reassigned"})


def test_an_objection_after_the_window_is_refused(stack: Stack) -> None:
    dept = _unique("交通运输局")
    c = _commit(stack, dept, due_in=60, scale=0.1)  # window: 5 working days = 0.5 s
    eventually(lambda: _now() > datetime.fromisoformat(c["assigned_at"]) + timedelta(seconds=0.7), what="window over")
    late = _call(stack, "POST", f"/commitments/{c['id']}/objections", Role.DEPARTMENT, {"reason": "不属职责"},
                 department=dept)
    assert late.status_code == 409 and late.json()["type"].endswith("objection-window-closed"), late.text


def test_co_handlers_are_escalated_each_on_their_own_deadline(stack: Stack) -> None:
    lead, slow, prompt = _unique("教育体育局"), _unique("自然资源局"), _unique("财政局")
    now = _now()
    c = _commit(stack, lead, due_in=60, scale=0.3, co_handlers=[
        {"department": slow, "due_at": (now + timedelta(seconds=2)).isoformat()},
        {"department": prompt, "due_at": (now + timedelta(seconds=40)).isoformat()},
    ])
    cid = c["id"]
    co = _call(stack, "GET", f"/commitments/{cid}/co-handlers", Role.OPERATOR).json()
    assert [x["department"] for x in co] == [slow, prompt]
    slow_id, prompt_id = co[0]["id"], co[1]["id"]
    # The prompt co-handler answers; it reads the commitment as a co-handler.
    opinion = _call(stack, "POST", f"/commitments/{cid}/co-handlers/{prompt_id}/opinion", Role.DEPARTMENT,
                    {"opinion": "同意在城东地块选址，资金列入年度预算"}, department=prompt)
    assert opinion.status_code == 200, opinion.text
    assert opinion.json()["status"] == "submitted"
    assert _call(stack, "POST", f"/commitments/{cid}/co-handlers/{prompt_id}/opinion", Role.DEPARTMENT,
                 {"opinion": "again"}, department=prompt).status_code == 409
    # The slow co-handler climbs its own ladder: 催办 at +0.3 s, 督办 at +3 s after its due date.
    eventually(lambda: any(e["co_handler_id"] == slow_id and e["step"] == "committee_supervision"
                           for e in _events(stack, cid)), timeout=30, what="督办 of the slow co-handler")
    events = _events(stack, cid)
    assert {e["step"] for e in events if e["co_handler_id"] == slow_id} >= {"urge", "committee_supervision"}
    assert not [e for e in events if e["co_handler_id"] == prompt_id]  # answered: never escalated
    assert not [e for e in events if e["co_handler_id"] is None]  # the lead is far from its due date
    rows = {x["id"]: x for x in _call(stack, "GET", f"/commitments/{cid}/co-handlers", Role.OPERATOR).json()}
    assert rows[slow_id]["escalation_level"] >= 2 and rows[prompt_id]["escalation_level"] == 0
    urged = _notices(stack, "co_handling.escalation.urge", cid)
    assert urged and all(f"department:{slow}" in n["recipients"] and f"department:{lead}" not in n["recipients"]
                         for n in urged)
    assert _notices(stack, "co_handling.opinion_received", cid)
    # The public sees the co-handlers by name of department only.
    assert [p["co_handlers"] for p in _public(stack, 13) if p["id"] == cid] == [[slow, prompt]]
    replay_and_keep(stack, {co[0]["workflow_id"]: "handling_cohandling_escalated",
                            co[1]["workflow_id"]: "handling_cohandling_answered"})


def test_a_b_reply_is_answered_again_as_a_and_a_withheld_reply_stays_private(stack: Stack) -> None:
    dept, topic = _unique("教育体育局"), 1300 + uuid.uuid4().int % 1000
    c = _commit(stack, dept, due_in=120, scale=1.0, topic=topic)
    cid = c["id"]

    def reply(reply_class: str, text: str) -> httpx.Response:
        return _call(stack, "POST", f"/commitments/{cid}/replies", Role.DEPARTMENT,
                     {"reply_class": reply_class, "text": text}, department=dept)

    b = reply("B", "已完成两所幼儿园选址，联系人王科长 13912345678，预计明年秋季开园。")
    assert b.status_code == 201, b.text
    assert b.json()["review_status"] == "pending"
    assert _call(stack, "GET", f"/commitments/{cid}", Role.OPERATOR).json()["status"] == "open"  # B keeps it open
    assert _call(stack, "POST", f"/commitments/{cid}/completion", Role.DEPARTMENT, {"summary": "已办结"},
                 department=dept).status_code == 409  # only an A reply closes a B
    assert reply("C", "列入明年计划").status_code == 409
    published = _call(stack, "POST", f"/commitments/{cid}/replies/{b.json()['id']}/review", Role.CLERK,
                      {"decision": "publish_full"})
    assert published.status_code == 201, published.text
    assert "13912345678" not in published.json()["public_text"]
    assert _notices(stack, "reply.published", cid)

    a = reply("A", "三所公办幼儿园已建成开园。内部经费明细另附。")
    assert a.status_code == 201, a.text
    eventually(lambda: _call(stack, "GET", f"/commitments/{cid}", Role.OPERATOR).json()["status"] == "completed",
               what="completed after the A reply")
    withheld = _call(stack, "POST", f"/commitments/{cid}/replies/{a.json()['id']}/review", Role.CLERK,
                     {"decision": "withhold", "reason": "含未公开的经费安排"})
    assert withheld.status_code == 201 and withheld.json()["review_status"] == "withheld"
    assert _call(stack, "POST", f"/commitments/{cid}/replies/{a.json()['id']}/review", Role.CLERK,
                 {"decision": "publish_full"}).status_code == 409
    bad = _call(stack, "POST", f"/commitments/{cid}/replies/{a.json()['id']}/review", Role.CLERK, {"decision": "withhold"})
    assert bad.status_code == 422

    # Verified, then rated unsatisfied with the outcome: reopened, and the department hears of it.
    assert _call(stack, "POST", f"/commitments/{cid}/verification", Role.COMMITTEE,
                 {"means": "inspection", "passed": True}).status_code == 201
    rated = _call(stack, "POST", f"/commitments/{cid}/satisfaction", Role.COMMITTEE,
                  {"rating": "unsatisfied", "handling_rating": "satisfied"})
    assert rated.status_code == 201, rated.text
    reopened = eventually(lambda: _notices(stack, "commitment.reopened", cid), what="the reopened notice")
    assert f"department:{dept}" in reopened[0]["recipients"]

    page = httpx.get(f"{stack.url('evaluation')}/public/commitments", params={"topic_id": topic}, timeout=20)
    [item] = page.json()["items"]
    assert [(r["reply_class"], r["disclosure"]) for r in item["replies"]] == [("B", "full")]
    assert "13912345678" not in page.text and "王科长" not in page.text and "经费" not in page.text
    assert item["satisfaction"]["outcome"]["unsatisfied"] == 1 and item["satisfaction"]["handling"]["satisfied"] == 1
    assert item["reopened_count"] == 1 and item["status"] == "open"
    # The replies' texts stay in evaluation: the workflow carries their class only.
    replay_and_keep(stack, {c["workflow_id"]: "handling_followup_reply_b_then_a"},
                    absent=("13912345678", "王科长", "经费"))


def test_extensions_are_capped_and_their_decision_is_notified(stack: Stack) -> None:
    dept = _unique("卫生健康局")
    c = _commit(stack, dept, due_in=30, scale=0.1)  # six months = 126 working days = 12.6 s past the due date
    cid = c["id"]
    original = datetime.fromisoformat(c["original_due_at"])
    too_far = _call(stack, "POST", f"/commitments/{cid}/extension-requests", Role.DEPARTMENT,
                    {"requested_due_at": (original + timedelta(seconds=13)).isoformat(), "reason": "复杂"},
                    department=dept)
    assert too_far.status_code == 422 and too_far.json()["errors"][0]["rule"] == "reply_limit_months", too_far.text
    within = _call(stack, "POST", f"/commitments/{cid}/extension-requests", Role.DEPARTMENT,
                   {"requested_due_at": (original + timedelta(seconds=12)).isoformat(), "reason": "复杂"},
                   department=dept)
    assert within.status_code == 201, within.text
    other = _commit(stack, dept, due_in=5, scale=1.0)  # six months = 126 s
    ask = _call(stack, "POST", f"/commitments/{other['id']}/extension-requests", Role.DEPARTMENT,
                {"requested_due_at": (_now() + timedelta(seconds=60)).isoformat(), "reason": "需要跨年度预算"},
                department=dept)
    assert ask.status_code == 201, ask.text
    granted = _call(stack, "POST", f"/commitments/{other['id']}/extension-requests/{ask.json()['id']}/decision",
                    Role.COMMITTEE, {"granted": True})
    assert granted.status_code == 201, granted.text
    [notice] = _notices(stack, "extension.decided", other["id"])
    assert notice["payload"]["granted"] is True and f"department:{dept}" in notice["recipients"]


def test_a_department_that_never_delivers_scores_zero_not_null(stack: Stack) -> None:
    dept, year = _unique("从未办结局"), 2031
    c = _commit(stack, dept, due_in=0.5, scale=0.1, plan_year=2031)
    eventually(lambda: _now() > datetime.fromisoformat(c["due_at"]), what="past due")
    [card] = _call(stack, "GET", "/scorecards/departments", Role.CHAIR, year=year, department=dept).json()
    assert (card["completed"], card["open_overdue"], card["late"], card["on_time_rate"]) == (0, 1, 1, 0.0)
    report = _call(stack, "GET", "/scorecards/year-end", Role.CHAIR, year=year)
    assert report.status_code == 200 and dept in [d["department"] for d in report.json()["departments"]]
    csv_text = _call(stack, "GET", "/scorecards/year-end", Role.CHAIR, year=year, format="csv")
    assert csv_text.headers["content-type"].startswith("text/csv")
    header, *rows = csv_text.text.strip().splitlines()
    assert header.startswith("scope,department,") and any(r.startswith(f"department,{dept},") for r in rows)
    page = _call(stack, "GET", "/scorecards/year-end", Role.CHAIR, year=year, format="html")
    assert page.headers["content-type"].startswith("text/html") and dept in page.text and "0.0%" in page.text
