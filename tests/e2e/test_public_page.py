"""The public page (答复公开) on a real stack: residents sign in on a device, submit, co-sign
(联名); a merged topic (并案) tells every submitter and co-signer, each by name, through
evaluation's outbox; and a real headless Chromium renders the page with real data, submits
the online column's form, passes an axe-core accessibility check and shows no personal data.

Chromium comes from Debian (`make browser`), axe-core from the axe-playwright-python
package (its vendored axe.min.js): nothing is fetched at test time.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.common.auth import Role
from services.intake.residents.service import resident_recipient
from tests.e2e.intake_helpers import enter_public_value, plan_year_of_its_own, public_value
from tests.e2e.test_kindergarten_case import EDU, seed_pool
from tests.e2e.test_operator_screenshots import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _browser_missing,
)
from tests.e2e.test_walking_skeleton import eventually
from tests.stack import Stack

pytestmark = pytest.mark.e2e

# Phone-sized screenshots for docs/public.md: XIESHANG_SCREENSHOT_DIR=docs/public-page make test.
SHOTS = os.environ.get("XIESHANG_SCREENSHOT_DIR")
PHONE = {"width": 390, "height": 844}
_addresses = itertools.count(1)


class Resident:
    """A resident's phone: a device id, a session from POST /public/session, and the
    address the county's reverse proxy reports (XIESHANG_TRUSTED_PROXIES in tests/stack.py)."""

    def __init__(self, stack: Stack) -> None:
        n = next(_addresses)
        self.stack = stack
        self.device = f"e2e-device-{uuid.uuid4().hex}"
        self.address = f"10.77.{(n >> 8) & 255}.{n & 255}"
        answer = httpx.post(f"{stack.url('intake')}/public/session", json={"device_id": self.device},
                            headers={"X-Forwarded-For": self.address}, timeout=30)
        assert answer.status_code == 201, answer.text
        self.session = answer.json()
        self.subject = self.session["resident"]
        # How the outbox addresses this resident (a subject with digits may go hashed).
        self.recipient = resident_recipient(self.subject)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session['token']}", "X-Xieshang-Device": self.device,
                "X-Forwarded-For": self.address}

    def post(self, path: str, body: dict | None = None, **headers: str) -> httpx.Response:
        return httpx.post(f"{self.stack.url('intake')}{path}", json=body, headers={**self.headers, **headers}, timeout=30)

    def submit(self, title: str, content: str) -> dict:
        answer = self.post("/public/submissions", {"title": title, "content": content},
                           **{"Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 201, answer.text
        return answer.json()


def _notices(stack: Stack, kind: str, topic_id: int) -> list[dict]:
    bodies = [json.loads(r["body"]) for r in list(stack.webhook.requests)]
    return [b for b in bodies if b["kind"] == kind and b["payload"].get("topic_id") == topic_id]


def _await_notices(stack: Stack, kind: str, topic_id: int, recipients: set[str]) -> list[dict]:
    """The notices of ``kind`` about the topic once every one of ``recipients`` has one."""
    try:
        return eventually(lambda: (found := _notices(stack, kind, topic_id))
                          and recipients <= {r for n in found for r in n["recipients"]} and found,
                          timeout=120, what=f"{kind} to every submitter of topic {topic_id}")
    except AssertionError:
        status = httpx.get(f"{stack.url('intake')}/topics/{topic_id}/consultation", headers=stack.auth(Role.OPERATOR),
                           timeout=30).text
        raise AssertionError(f"{kind}: got {_notices(stack, kind, topic_id)}; expected {recipients}; "
                             f"consultation {status}") from None


def _own_topic(stack: Stack, receipt: dict) -> dict:
    """The receipt, with the submission in a topic of its own: an earlier test's similar
    submission may have drawn it into an older topic (a duplicate), which the office splits
    out again, as it would for a concern that only looks alike."""
    clerk = stack.auth(Role.CLERK)
    stored = httpx.get(f"{stack.url('intake')}/submissions/{receipt['submission_id']}", headers=clerk, timeout=30).json()
    if stored["joined_as"] == "opened":
        return receipt
    split = httpx.post(f"{stack.url('intake')}/topics/{stored['topic_id']}/split", headers=clerk, timeout=30,
                       json={"submission_ids": [receipt["submission_id"]]})
    assert split.status_code == 201, split.text
    return {**receipt, "topic_id": split.json()["id"]}


def _behind(stack: Stack, topic_id: int) -> set[str]:
    """Everyone intake says stands behind the topic (its merged submissions' submitters and
    its co-signers), as the outbox addresses them."""
    answer = httpx.get(f"{stack.url('intake')}/topics/{topic_id}/submitters", headers=stack.auth(Role.CLERK), timeout=30)
    assert answer.status_code == 200, answer.text
    return set(answer.json()["recipients"])


def test_a_cosigned_merged_topic_notifies_every_submitter(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    alice, bob, carol, dan = (Resident(stack) for _ in range(4))
    # Two residents raise the same concern in words different enough to open two topics.
    x = _own_topic(stack, alice.submit(f"老街路灯坏了三个月-{tag}", f"老街东段的路灯坏了三个月，晚上出行很危险。编号{tag}"))
    y = _own_topic(stack, bob.submit(f"城南夜间照明不足-{tag[::-1]}", f"城南片区夜里太黑，建议增设照明设施。编号{tag[::-1]}"))
    assert x["topic_id"] and y["topic_id"] and x["topic_id"] != y["topic_id"]
    # 联名: co-signing twice is one co-signature.
    first = carol.post(f"/public/topics/{x['topic_id']}/cosign")
    again = carol.post(f"/public/topics/{x['topic_id']}/cosign")
    assert (first.status_code, again.status_code) == (201, 200) and again.json()["cosigners"] == 1
    assert dan.post(f"/public/topics/{y['topic_id']}/cosign").status_code == 201
    # Without the device it was issued for, the token opens nothing.
    stolen = httpx.post(f"{stack.url('intake')}/public/topics/{y['topic_id']}/cosign",
                        headers={"Authorization": f"Bearer {carol.session['token']}"}, timeout=30)
    assert stolen.status_code == 401

    # 并案: the office merges x into y.
    clerk = stack.auth(Role.CLERK)
    merged = httpx.post(f"{stack.url('intake')}/topics/{x['topic_id']}/merge",
                        json={"into_topic_id": y["topic_id"], "reason": "同一关切"}, headers=clerk, timeout=30)
    assert merged.status_code == 201, merged.text
    # x's people (its submitter, its co-signer, and whoever an earlier test's similar
    # submission put behind the same topic) each hear that it was merged...
    expected_x = _behind(stack, x["topic_id"])
    assert {alice.recipient, carol.recipient} <= expected_x and not {bob.recipient, dan.recipient} & expected_x
    merged_notices = _await_notices(stack, "topic.merged", x["topic_id"], expected_x)
    assert any(n["recipients"] == [f"submitters:topic-{x['topic_id']}"] for n in merged_notices)
    personal = [n for n in merged_notices if len(n["recipients"]) == 1 and n["recipients"][0] in expected_x]
    assert sorted(r for n in personal for r in n["recipients"]) == sorted(expected_x)  # once each, nobody else
    assert all(n["payload"]["merged_into_topic_id"] == y["topic_id"] for n in personal)

    # ...and the outcome of the topic they joined reaches every submitter of every merged
    # submission and every co-signer: here the chair's rejection of y.
    rejected = httpx.post(f"{stack.url('intake')}/topics/{y['topic_id']}/decision",
                          json={"outcome": "rejected", "reason": "已纳入县城亮化工程统一实施"},
                          headers=stack.auth(Role.CHAIR), timeout=30)
    assert rejected.status_code == 201, rejected.text
    everyone = _behind(stack, y["topic_id"])
    assert {p.recipient for p in (alice, bob, carol, dan)} <= everyone and expected_x <= everyone
    assert all(p.subject.isascii() and not any(ch.isdigit() for ch in p.subject) for p in (alice, bob, carol, dan))
    outcome = _await_notices(stack, "topic.rejected", y["topic_id"], everyone)
    personal = [n["recipients"][0] for n in outcome if len(n["recipients"]) == 1 and n["recipients"][0] in everyone]
    assert sorted(personal) == sorted(everyone)  # once each
    # The resident's receipt says what became of it: merged into y, then y rejected.
    status = httpx.get(f"{stack.url('intake')}/public/submissions/{x['submission_id']}", headers=alice.headers,
                       timeout=30).json()
    assert (status["topic_id"], status["topic_stage"]) == (y["topic_id"], "rejected")


# --------------------------------------------------------------------------- Chromium


def _no_personal_data(html: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s and s in html]
    assert not leaked, f"personal data in the public page: {leaked}"


def _axe(page) -> list[dict]:
    """axe-core (vendored by axe-playwright-python) in the page; serious or critical only."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="module")
def phone():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must check the public page in Chromium: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                      locale="zh-CN")
        try:
            yield context
        finally:
            context.close()
            browser.close()


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_the_public_page_from_a_submission_to_its_commitments_in_chromium(stack: Stack, phone) -> None:
    intake = stack.url("intake")
    clerk, chair = stack.auth(Role.CLERK), stack.auth(Role.CHAIR)
    year = plan_year_of_its_own(stack)
    pool = seed_pool(stack)
    people = [httpx.get(f"{stack.url('talent')}/people/{pid}", headers=clerk).json() for pid in sorted(pool)]
    seeded_names = [p["display_name"] for p in people]
    name, phone_number, id_number = "欧阳秀英", "13987654321", "110101199003074518"
    page = phone.new_page()

    # 1. 网上征集 through the page's own form: a receipt number, then its status.
    page.goto(f"{intake}/public/page?year={year}")
    assert page.locator("h1").inner_text() == f"{year}年度协商计划"
    tag = uuid.uuid4().hex[:6]
    title = f"幼儿园入园难-{tag}"
    page.fill("#title", title)
    page.fill("#content", f"县城公办幼儿园学位不够，孩子入园要排很久的队，希望增加公办学位。联系人{name}，电话{phone_number}，"
                          f"身份证{id_number}。")
    page.fill("#submitter_name", name)
    page.fill("#contact", phone_number)
    _shot(page, "1-column-form")
    page.click("#submit-button")
    page.wait_for_selector("#receipt:not([hidden])", timeout=30_000)
    receipt = int(page.locator("#receipt-number").inner_text())
    assert "已受理" in page.locator("#receipt-status").inner_text()
    _no_personal_data(page.content(), [name, phone_number, id_number, *seeded_names])
    page.reload()
    mine = page.locator(f"[data-receipt='{receipt}']")
    mine.wait_for(timeout=30_000)
    eventually(lambda: "已受理" in mine.inner_text() and "查询中" not in mine.inner_text(), what="my submission's status")
    _shot(page, "2-receipt")
    stored = httpx.get(f"{intake}/submissions/{receipt}", headers=clerk).json()
    assert stored["contact"] == phone_number and stored["channel"] == "public_online"  # the office has it
    tid = _own_topic(stack, {"submission_id": receipt, "topic_id": stored["topic_id"]})["topic_id"]

    # 2. The chair puts it into the year's plan; research; the draw; the meeting commits.
    decided = httpx.post(f"{intake}/topics/{tid}/decision", headers=chair, timeout=30, json={
        "outcome": "accepted", "format": "special_topic", "organiser": "social-law-committee",
        "plan_year": year, "venue": "cppcc-hall", "planned_month": 6})
    assert decided.status_code == 201, decided.text
    research = httpx.post(f"{intake}/topics/{tid}/research-completion", headers=clerk, timeout=30, json={
        "summary": "毛入园率85%，普惠性幼儿园学位占50%。", "expertise": ["学前教育"], "exclude_departments": [EDU]})
    assert research.status_code == 201, research.text

    def consultation() -> dict:
        return httpx.get(f"{intake}/topics/{tid}/consultation", headers=stack.auth(Role.OPERATOR), timeout=30).json()

    # The draw is announced (portfolio hash, commitment, the public random value to come) and
    # revealed once the clerk enters the value (issue 11).
    announcement = enter_public_value(stack, tid)
    value = public_value(0)
    # The announcement is news for the resident behind the topic: a draw.announced notice
    # through the outbox, to the topic's submitters as a group and to the resident by name.
    def told() -> list[dict] | None:
        found = [n for n in _notices(stack, "draw.announced", tid) if n["payload"].get("draw_id") == announcement["draw_id"]]
        return found if [r for n in found for r in n["recipients"] if r.startswith("resident:")] else None

    notices = eventually(told, timeout=60, what="draw.announced to the resident behind the topic")
    assert any(f"submitters:topic-{tid}" in n["recipients"] for n in notices)
    assert len([r for n in notices for r in n["recipients"] if r.startswith("resident:")]) == 1  # once, by name
    inviting = eventually(lambda: (c := consultation())["stage"] == "inviting" and c, timeout=90, what="inviting")
    for invitation in inviting["invitations"]:
        ok = httpx.post(f"{intake}/topics/{tid}/invitations/{invitation['person_id']}/answer", headers=clerk,
                        json={"accepted": True}, timeout=30)
        assert ok.status_code == 200, ok.text
    eventually(lambda: consultation()["stage"] == "meeting", timeout=60, what="meeting")
    meeting = httpx.post(f"{intake}/topics/{tid}/meetings", headers=clerk, timeout=30, json={
        "held_at": datetime.now(UTC).isoformat(), "venue": "cppcc-hall",
        "minutes": f"{seeded_names[0]}发言。", "consensus": "两年内新建至少3所公办幼儿园。",
        "attendance": [{"name": seeded_names[1], "category": "member"}],
        "commitments": [{"owner_department": EDU, "content": "两年内新建至少3所公办幼儿园",
                         "due_date": (date.today() + timedelta(days=400)).isoformat()}],
    })
    assert meeting.status_code == 201, meeting.text
    cid = eventually(lambda: (c := consultation())["commitment_ids"] and c["commitment_ids"][0], timeout=60,
                     what="commitment")
    published = _publish_a_reply(stack, cid)

    # 3. The plan, the consultation and its commitment as the public sees them.
    page.goto(f"{intake}/public/page?year={year}")
    entry = page.locator(f"[data-topic='{tid}']")
    assert title in entry.inner_text() and "县政协机关会议室" in entry.inner_text()
    assert "社会和法制委员会" in entry.inner_text() and "6月" in entry.inner_text()
    _shot(page, "3-plan")
    violations = _axe(page)
    assert not violations, violations
    _no_personal_data(page.content(), [name, phone_number, id_number, *seeded_names])

    page.goto(f"{intake}/public/page/topics/{tid}")
    body = page.locator("main").inner_text()
    assert title in body and "专题协商会议" in body and "成果办理跟踪" in body
    public_draws = httpx.get(f"{stack.url('talent')}/public/draws", params={"consultation_id": tid}, timeout=30)
    assert public_draws.status_code == 200, public_draws.text
    [draw] = public_draws.json()["items"]
    assert (draw["draw_id"], draw["status"], draw["public_randomness"]) == (announcement["draw_id"], "drawn", value)
    section = page.locator("section[aria-labelledby='draws']").inner_text()
    card = page.locator("section[aria-labelledby='draws'] article").first.inner_text()
    assert "第1轮抽选" in card and "已揭晓" in card and "方案哈希" in card and "密钥承诺" in card
    assert announcement["portfolio_hash"] == draw["portfolio_hash"] and draw["portfolio_hash"] in card
    assert draw["commitment"] in card and announcement["public_randomness_source"] in card
    assert "公开随机数来源" in card and "公开随机数日期" in card and value in card and "揭晓时间" in card
    assert "如何验证抽选是公平的" in section and page.locator("#how-to-verify").count() == 1
    commitment = page.locator(f"[data-commitment='{cid}']")
    assert EDU in commitment.inner_text() and "两年内新建至少3所公办幼儿园" in commitment.inner_text()
    assert published in commitment.inner_text() and "B类" in commitment.inner_text()
    page.click("#cosign-button")
    eventually(lambda: "联名" in page.locator("#cosign-result").inner_text(), what="co-signed")
    assert page.locator("#cosigners").inner_text() == "1"
    if page.locator("#how-to-verify summary").count():
        page.locator("#how-to-verify summary").click()
    _shot(page, "4-consultation")
    violations = _axe(page)
    assert not violations, violations
    _no_personal_data(page.content(), [name, phone_number, id_number, REPLY_PHONE, "王科长", *seeded_names])


REPLY_PHONE = "13712345678"


def _publish_a_reply(stack: Stack, cid: int) -> str:
    """The department's formal reply (答复, class B), published in full after the office's
    disclosure review (答复公开): contact details are removed before the public sees it."""
    evaluation = stack.url("evaluation")
    text = "已完成两所公办幼儿园选址，预计明年秋季开园"
    reply = httpx.post(f"{evaluation}/commitments/{cid}/replies", headers=stack.auth(Role.DEPARTMENT, department=EDU),
                       json={"reply_class": "B", "text": f"{text}。联系人王科长 {REPLY_PHONE}。"}, timeout=30)
    assert reply.status_code == 201, reply.text
    review = httpx.post(f"{evaluation}/commitments/{cid}/replies/{reply.json()['id']}/review",
                        headers=stack.auth(Role.CLERK), json={"decision": "publish_full"}, timeout=30)
    assert review.status_code == 201, review.text
    return text
