"""The chair's decisions as workflow updates, the 1+2+4+X plan, reference data,
listing filters and meeting records; over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import assert_problem, get, new_topic, plan_year_of_its_own, post
from tests.e2e.test_walking_skeleton import decode_attribute, eventually, ui_query
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def accept(stack: Stack, topic_id: int, year: int, fmt: str, organiser: str = "economy-committee", **extra) -> httpx.Response:
    body = {"outcome": "accepted", "format": fmt, "organiser": organiser, "plan_year": year, **extra}
    return post(stack, f"/topics/{topic_id}/decision", body, stack.auth(Role.CHAIR))


def topic(stack: Stack, n: int | str, words: str = "议题") -> dict:
    # Distinct wording per topic so that none is taken for another's near-duplicate.
    tag = uuid.uuid4().hex[:8]
    return new_topic(stack, f"{words}{n}-{tag}", f"{words}内容{n}，编号{tag}{tag[::-1]}。")


def test_accept_moves_the_workflow_and_sets_its_search_attributes(stack: Stack) -> None:
    t = new_topic(stack, "县城公办幼儿园学位不足（决定）", "公办幼儿园仅一所，学位约1000个，每年约4000名适龄儿童需要入园。")
    decided = accept(stack, t["id"], 2031, "special_topic", organiser="social-law-committee", venue="cppcc-hall", planned_month=6)
    assert decided.status_code == 201, decided.text
    d = decided.json()
    assert (d["outcome"], d["delivery"], d["stage"], d["organiser"], d["venue"]) == (
        "accepted", "delivered", "accepted", "social-law-committee", "cppcc-hall"
    )
    clerk = stack.auth(Role.CLERK)
    read = get(stack, f"/topics/{t['id']}", clerk).json()
    assert read["stage"] in ("accepted", "research")  # from the workflow's query: research follows at once
    assert read["plan"] == {"plan_year": 2031, "format": "special_topic", "organiser": "social-law-committee",
                            "venue": "cppcc-hall", "planned_month": 6}
    query = (
        f"ConsultationStage IN ('accepted', 'research') AND ConsultationFormat='special_topic' AND Organiser='social-law-committee' "
        f"AND PlanYear=2031 AND WorkflowId='{t['workflow_id']}'"
    )
    executions = eventually(lambda: ui_query(stack, query), what="accepted topic in visibility")
    assert decode_attribute(executions[0], "PlanYear") == 2031
    assert executions[0]["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"  # research follows
    # Evaluation keeps the decision among the consultation's events, once.
    def decided() -> list:
        events = httpx.get(f"{stack.url('evaluation')}/events", params={"topic_id": t["id"], "kind": "topic_decided"},
                           headers=stack.auth(Role.OPERATOR)).json()["items"]
        return events

    events = eventually(decided, what="topic_decided event")
    assert [(e["event_key"], e["detail"]) for e in events] == [
        (f"topic-{t['id']}-decided", {"outcome": "accepted", "format": "special_topic", "organiser": "social-law-committee", "plan_year": 2031})
    ]
    # A second decision is refused, and nothing changes.
    again = post(stack, f"/topics/{t['id']}/decision", {"outcome": "rejected", "reason": "重复"}, stack.auth(Role.CHAIR))
    assert_problem(again, 409)
    assert get(stack, f"/topics/{t['id']}/decision", clerk).json()["outcome"] == "accepted"


def test_reject_and_merge_end_the_consultation(stack: Stack) -> None:
    chair = stack.auth(Role.CHAIR)
    rejected_topic = topic(stack, "r", "拒绝测试")
    assert_problem(post(stack, f"/topics/{rejected_topic['id']}/decision", {"outcome": "rejected"}, chair), 422, "reason", "missing")
    rejected = post(stack, f"/topics/{rejected_topic['id']}/decision", {"outcome": "rejected", "reason": "不属于政协协商范围"}, chair)
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["stage"] == "rejected" and rejected.json()["reason"] == "不属于政协协商范围"
    source, target = topic(stack, "s", "合并来源"), topic(stack, "t", "合并目标")
    merged = post(stack, f"/topics/{source['id']}/decision", {"outcome": "merged", "merged_into_topic_id": target["id"]}, chair)
    assert merged.status_code == 201, merged.text
    for t, stage in ((rejected_topic, "rejected"), (source, "merged")):
        query = f"ConsultationStage='{stage}' AND ExecutionStatus='Completed' AND WorkflowId='{t['workflow_id']}'"
        eventually(lambda q=query: ui_query(stack, q), what=f"{stage} workflow completed")
    # Merging into a closed topic or into itself is refused.
    other = topic(stack, "o", "合并其他")
    assert_problem(post(stack, f"/topics/{other['id']}/decision", {"outcome": "merged", "merged_into_topic_id": source["id"]}, chair), 409)
    assert_problem(post(stack, f"/topics/{other['id']}/decision", {"outcome": "merged", "merged_into_topic_id": other["id"]}, chair), 409)
    assert_problem(
        post(stack, f"/topics/{other['id']}/decision", {"outcome": "merged", "merged_into_topic_id": 99999999}, chair),
        422, "merged_into_topic_id", "unknown_topic",
    )
    assert get(stack, f"/topics/{other['id']}", chair).json()["stage"] == "submitted"


def test_invalid_decisions_change_nothing(stack: Stack) -> None:
    chair = stack.auth(Role.CHAIR)
    t = topic(stack, "i", "无效决定")
    cases = [
        ({"outcome": "accepted", "format": "special_topic", "plan_year": 2031}, 422, "organiser", "missing"),
        ({"outcome": "accepted", "format": "special_topic", "organiser": "no-such-studio", "plan_year": 2031}, 422, "organiser", "unknown_organiser"),
        ({"outcome": "accepted", "format": "special_topic", "organiser": "economy-committee", "plan_year": 2031, "venue": "moon"}, 422, "venue", "unknown_venue"),
        ({"outcome": "accepted", "format": "grand_assembly", "organiser": "economy-committee", "plan_year": 2031}, 422, "format", "enum"),
        ({"outcome": "accepted", "format": "plenary", "organiser": "economy-committee", "plan_year": 2031, "planned_month": 13}, 422, "planned_month", "less_than_equal"),
        ({"outcome": "rejected", "reason": "x", "format": "plenary"}, 422, "format", "not_allowed_for_outcome"),
        ({"outcome": "adjourned"}, 422, "outcome", "enum"),
    ]
    for body, status, field, rule in cases:
        assert_problem(post(stack, f"/topics/{t['id']}/decision", body, chair), status, field, rule)
    assert_problem(post(stack, f"/topics/{t['id']}/decision", {"outcome": "rejected", "reason": "x"}, stack.auth(Role.COMMITTEE)), 403)
    assert_problem(get(stack, f"/topics/{t['id']}/decision", chair), 404)
    assert get(stack, f"/topics/{t['id']}", chair).json()["stage"] == "submitted"
    assert ui_query(stack, f"ConsultationStage='accepted' AND WorkflowId='{t['workflow_id']}'") == []


def test_plan_is_checked_against_1_2_4_x_and_edited(stack: Stack) -> None:
    year = 2032
    chair = stack.auth(Role.CHAIR)
    empty = get(stack, f"/plans/{year}", chair).json()
    assert not empty["complete"] and {w["rule"] for w in empty["warnings"]} == {
        "missing_plenary", "missing_standing_committee", "missing_special_topic"
    }
    formats = ["plenary", "standing_committee", "standing_committee", "special_topic", "special_topic", "special_topic", "sector_micro"]
    ids = []
    for n, fmt in enumerate(formats):
        t = topic(stack, n, "年度计划")
        response = accept(stack, t["id"], year, fmt, organiser="fuji-town-studio" if fmt == "sector_micro" else "economy-committee", planned_month=n + 1)
        assert response.status_code == 201, response.text
        ids.append(t["id"])
    plan = get(stack, f"/plans/{year}", chair).json()
    assert plan["counts"] == {"plenary": 1, "standing_committee": 2, "special_topic": 3, "sector_micro": 1}
    assert [w["rule"] for w in plan["warnings"]] == ["missing_special_topic"] and plan["errors"] == []
    assert [e["planned_month"] for e in plan["entries"]] == list(range(1, 8))
    # Impossible: a second plenary is refused, and the topic stays undecided.
    extra = topic(stack, "p2", "第二次全委会")
    refused = accept(stack, extra["id"], year, "plenary")
    body = assert_problem(refused, 409)
    assert body["errors"][0]["rule"] == "too_many_plenary" and "全委会议" in body["detail"]
    assert get(stack, f"/topics/{extra['id']}", chair).json()["stage"] == "submitted"
    # The fourth special topic completes the plan.
    assert accept(stack, extra["id"], year, "special_topic").status_code == 201
    plan = get(stack, f"/plans/{year}", chair).json()
    assert plan["complete"] and plan["warnings"] == [] and plan["errors"] == []
    # Editing: turning the routine consultation into a second plenary is impossible...
    micro = ids[-1]
    assert_problem(httpx.patch(f"{stack.url('intake')}/plans/{year}/entries/{micro}", json={"format": "plenary"}, headers=chair), 409)
    # ...moving it to the liaison studio in month 11 is fine, and operators see it.
    edited = httpx.patch(
        f"{stack.url('intake')}/plans/{year}/entries/{micro}",
        json={"organiser": "liaison-studio", "planned_month": 11, "venue": "liaison-studio"}, headers=chair,
    )
    assert edited.status_code == 200, edited.text
    entry = next(e for e in edited.json()["entries"] if e["topic_id"] == micro)
    assert (entry["organiser"], entry["planned_month"], entry["venue"]) == ("liaison-studio", 11, "liaison-studio")
    eventually(
        lambda: ui_query(stack, f"Organiser='liaison-studio' AND WorkflowId='consultation-{micro}'"),
        what="amended organiser in visibility",
    )
    assert_problem(httpx.patch(f"{stack.url('intake')}/plans/{year}/entries/{micro}", json={"organiser": "nobody"}, headers=chair), 422, "organiser", "unknown_organiser")
    assert_problem(get(stack, "/plans/1999", chair), 422, "year")


def test_listing_filters_free_text_and_pages(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    tag = uuid.uuid4().hex[:6]
    a = new_topic(stack, f"濑溪河水质污染{tag}", "濑溪河上游养殖场排污，河水发黑发臭，沿岸居民反映强烈。")
    b = new_topic(stack, f"濑溪河岸绿道建设{tag}", "建议沿濑溪河修建绿道，方便居民散步健身。", channel="sector_proposal")
    assert accept(stack, b["id"], 2033, "sector_micro", organiser="minmeng-studio").status_code == 201
    # Free text in Traditional script finds the Simplified text, on both backends.
    found = get(stack, "/topics", clerk, q="瀨溪河").json()
    assert {a["id"], b["id"]} <= {t["id"] for t in found["items"]}
    # Accepted, the consultation moves to research at once; the stored stage follows it.
    only_b = eventually(lambda: (r := get(stack, "/topics", clerk, q="瀨溪河", year=2033, organiser="minmeng-studio",
                                          format="sector_micro", stage="research").json())["total"] and r,
                        what="stored stage research")
    assert [t["id"] for t in only_b["items"]] == [b["id"]] and only_b["total"] == 1
    assert get(stack, "/topics", clerk, q=f"水质污染{tag}", channel="member_recommended").json()["total"] == 1
    assert get(stack, "/topics", clerk, q="100%_不存在").json()["total"] == 0  # LIKE wildcards are literal
    # Keyset pages: stable, oldest first, every topic once, with the total.
    pages, after = [], None
    while True:
        params = {"limit": 5, **({"after": after} if after is not None else {})}
        page = get(stack, "/topics", clerk, **params).json()
        pages += [t["id"] for t in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert pages == sorted(set(pages)) and len(pages) == page["total"]
    newest = get(stack, "/topics", clerk, order="newest", limit=1).json()
    following = get(stack, "/topics", clerk, order="newest", limit=1, after=newest["next_after"]).json()
    assert [t["id"] for t in newest["items"] + following["items"]] == sorted(pages, reverse=True)[:2]
    assert_problem(get(stack, "/topics", clerk, order="random"), 422, "order", "literal_error")


def test_reference_data_has_its_own_endpoints(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    organisers = get(stack, "/organisers", clerk).json()
    assert {"special_committee", "sector_studio", "town_studio", "liaison_studio"} <= {o["kind"] for o in organisers}
    assert [o["name"] for o in get(stack, "/organisers", clerk, kind="liaison_studio").json()] == ["县政协联络工作室"]
    code = f"lizi-{uuid.uuid4().hex[:6]}"
    created = post(stack, "/organisers", {"code": code, "name": "立石镇同心圆工作室", "kind": "town_studio"}, clerk)
    assert created.status_code == 201, created.text
    assert_problem(post(stack, "/organisers", {"code": code, "name": "重复", "kind": "town_studio"}, clerk), 409)
    venue = post(stack, "/venues", {"code": code, "name": "立石镇同心圆工作室", "kind": "town_studio", "address": "泸县立石镇"}, clerk)
    assert venue.status_code == 201 and venue.json()["address"] == "泸县立石镇"
    assert code in [v["code"] for v in get(stack, "/venues", clerk).json()]
    assert_problem(post(stack, "/venues", {"code": code + "x", "name": "x", "kind": "palace"}, clerk), 422, "kind", "enum")
    assert_problem(post(stack, "/organisers", {"code": "x", "name": "x", "kind": "town_studio"}, stack.auth(Role.CHAIR)), 403)


def test_meeting_records_minutes_attendance_consensus_commitments(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    t = topic(stack, "m", "协商议事会")
    meeting = {
        "held_at": "2031-05-20T09:30:00+08:00",
        "venue": "fuji-town-studio",
        "minutes": "会议通报了全县学前教育现状：毛入园率85%，普惠性幼儿园学位占50%。",
        "consensus": "三年内新建至少3所公办幼儿园。",
        "attendance": [
            {"name": "李明", "category": "member"},
            {"name": "陈老师", "category": "talent", "organisation": "县实验幼儿园"},
            {"name": "王奶奶", "category": "public_representative"},
            {"name": "周局长", "category": "department", "organisation": "教育体育局"},
            {"name": "刘副县长", "category": "leader"},
        ],
        "commitments": [{"owner_department": "教育体育局", "content": "新建至少3所公办幼儿园", "due_date": "2033-08-31"}],
    }
    assert_problem(post(stack, f"/topics/{t['id']}/meetings", meeting, clerk), 409)  # not in a plan yet
    # A plenary (全委会议) needs no draw: after research the consultation waits for its meeting.
    year = plan_year_of_its_own(stack)
    assert accept(stack, t["id"], year, "plenary").status_code == 201
    assert_problem(post(stack, f"/topics/{t['id']}/meetings", meeting, clerk), 409)  # research not done
    done = post(stack, f"/topics/{t['id']}/research-completion", {"summary": "调研完成"}, clerk)
    assert done.status_code == 201, done.text
    eventually(lambda: get(stack, f"/topics/{t['id']}/consultation", clerk).json()["stage"] == "meeting",
               what="waiting for the meeting")
    recorded = post(stack, f"/topics/{t['id']}/meetings", meeting, clerk)
    assert recorded.status_code == 201, recorded.text
    m = recorded.json()
    assert m["held_at"] == "2031-05-20T01:30:00Z" and m["venue"] == "fuji-town-studio"
    assert [a["category"] for a in m["attendance"]] == ["member", "talent", "public_representative", "department", "leader"]
    assert m["commitments"][0]["owner_department"] == "教育体育局" and m["commitments"][0]["due_date"] == "2033-08-31"
    assert get(stack, f"/meetings/{m['id']}", clerk).json() == m
    assert [x["id"] for x in get(stack, f"/topics/{t['id']}/meetings", clerk).json()] == [m["id"]]
    bad = {**meeting, "commitments": [{"owner_department": "教育体育局", "content": "x", "due_date": "明年"}]}
    assert_problem(post(stack, f"/topics/{t['id']}/meetings", bad, clerk), 422, "commitments.0.due_date", "date_from_datetime_parsing")
    assert_problem(post(stack, f"/topics/{t['id']}/meetings", {**meeting, "venue": "nowhere"}, clerk), 422, "venue", "unknown_venue")
    assert_problem(post(stack, f"/topics/{t['id']}/meetings", {**meeting, "attendance": []}, clerk), 422, "attendance", "too_short")


def test_concurrent_decisions_one_wins_and_the_workflow_agrees(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    chair = stack.auth(Role.CHAIR)
    t = topic(stack, "c", "并发决定")
    bodies = [
        {"outcome": "rejected", "reason": "并发测试"},
        {"outcome": "accepted", "format": "sector_micro", "organiser": "minmeng-studio", "plan_year": 2035},
    ] * 2
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda b: post(stack, f"/topics/{t['id']}/decision", b, chair), bodies))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    stored = get(stack, f"/topics/{t['id']}/decision", chair).json()
    assert stored["outcome"] == winner["outcome"] and stored["delivery"] == "delivered"
    # The workflow's own stage: an accepted consultation moves on to research at once.
    follows = {"accepted": ("accepted", "research"), "rejected": ("rejected",)}[winner["outcome"]]
    assert get(stack, f"/topics/{t['id']}", chair).json()["stage"] in follows
