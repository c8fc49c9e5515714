"""Personal data a resident writes stays out of Temporal's storage.

A full lifecycle (submitted → closed) runs with a name, a phone number and an ID-card
number in the topic's title and content, the research summary, the meeting's minutes,
attendance and commitment, the progress and completion reports. Then the dev server's
raw SQLite database and its WAL are read byte by byte: none of the seeded strings may be
there, in UTF-8 or JSON-escaped form. A positive control (the department, a search
attribute the server keeps in the clear) shows the dump can see what is stored.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import enter_public_value, plan_year_of_its_own
from tests.e2e.test_kindergarten_case import EDU, evaluation, intake, seed_pool
from tests.e2e.test_walking_skeleton import eventually
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def forms(text: str) -> list[bytes]:
    """How a string can sit in the server's storage: UTF-8, or JSON with \\u escapes."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def raw_temporal_storage(stack: Stack) -> bytes:
    db = stack.devstack.temporal_db
    assert db is not None and db.exists()
    chunks = [db.read_bytes()]
    for suffix in ("-wal", "-shm"):
        extra = db.with_name(db.name + suffix)
        if extra.exists():
            chunks.append(extra.read_bytes())
    return b"".join(chunks)


def test_seeded_personal_data_is_not_in_temporals_database_or_wal(stack: Stack) -> None:
    name = "王小" + secrets.choice("明亮刚强伟")
    phone = f"138{secrets.randbelow(10**8):08d}"
    id_number = f"11010119900307{secrets.randbelow(1000):03d}X"
    seeded = [name, phone, id_number]
    me = f"我是{name}，电话{phone}，身份证号{id_number}"
    year = plan_year_of_its_own(stack)
    seed_pool(stack)

    created = intake(stack, "POST", "/topics", json={
        # A concern no other test writes about: other tests' submissions must not join it.
        "title": f"{me}，反映古井被填埋-{year}",
        "content": f"{me}。小区里的清代古井被开发商填埋，请政协协商保护古井遗址。",
        "channel": "member_recommended",
    })
    assert created.status_code == 201, created.text
    tid = created.json()["id"]

    def stage() -> str:
        return intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json()["stage"]

    def reach(wanted: str, timeout: float = 60) -> None:
        eventually(lambda: stage() == wanted, timeout=timeout, what=wanted)

    decided = intake(stack, "POST", f"/topics/{tid}/decision", Role.CHAIR, json={
        "outcome": "accepted", "format": "special_topic", "organiser": "social-law-committee",
        "plan_year": year, "venue": "cppcc-hall", "planned_month": 6,
    })
    assert decided.status_code == 201, decided.text
    reach("research")
    research = intake(stack, "POST", f"/topics/{tid}/research-completion", json={
        "summary": f"走访了{name}（{phone}）一家。", "expertise": ["学前教育"], "exclude_departments": [EDU],
    })
    assert research.status_code == 201, research.text
    enter_public_value(stack, tid)
    reach("inviting")
    status = intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json()
    for invitation in status["invitations"]:
        ok = intake(stack, "POST", f"/topics/{tid}/invitations/{invitation['person_id']}/answer", json={"accepted": True})
        assert ok.status_code == 200, ok.text
    reach("meeting")

    meeting = intake(stack, "POST", f"/topics/{tid}/meetings", json={
        "held_at": datetime.now(UTC).isoformat(), "venue": "cppcc-hall",
        "minutes": f"{me}到会反映情况。", "consensus": f"为{name}家附近新增学位。",
        "attendance": [{"name": name, "category": "member"}],
        "commitments": [{"owner_department": EDU, "content": f"答复{name}（{phone}）：新建一所公办幼儿园",
                         "due_date": (date.today() + timedelta(days=30)).isoformat()}],
    })
    assert meeting.status_code == 201, meeting.text
    reach("follow_up")
    cid = eventually(lambda: intake(stack, "GET", f"/topics/{tid}/consultation", Role.OPERATOR).json()["commitment_ids"],
                     what="commitment")[0]
    for path, body, role in (
        ("progress-reports", {"content": f"已电话{phone}联系{name}，身份证号{id_number}已登记。"}, Role.DEPARTMENT),
        ("completion", {"summary": f"{name}的孩子已入园"}, Role.DEPARTMENT),
        ("verification", {"means": "inspection", "passed": True}, Role.COMMITTEE),
        ("satisfaction", {"rating": "satisfied"}, Role.COMMITTEE),
    ):
        response = evaluation(stack, "POST", f"/commitments/{cid}/{path}", role, json=body)
        assert response.status_code == 201, response.text
    reach("closed", timeout=60)

    # The records themselves keep what the resident wrote (services own the records)...
    assert phone in intake(stack, "GET", f"/topics/{tid}").json()["content"]
    # ...Temporal's storage does not.
    raw = raw_temporal_storage(stack)
    assert any(form in raw for form in forms(f"consultation-{tid}"))
    # Positive controls: the dump sees search attributes and history events as stored.
    assert any(form in raw for form in forms(EDU)), "search attributes are stored in the clear"
    assert b"mirror_topic_stage" in raw, "activity types in history events are stored in the clear"
    found = {secret: sum(raw.count(form) for form in forms(secret)) for secret in seeded}
    assert found == dict.fromkeys(seeded, 0), found


def test_codec_endpoint_decodes_the_web_uis_payloads_for_operators_only(stack: Stack) -> None:
    """What the Web UI does with a workflow's summary: fetch it from its server (encrypted),
    post it to the codec endpoint the dev server was started with."""
    import base64

    import httpx

    title = f"县档案馆周末闭馆-{uuid.uuid4().hex[:6]}"
    created = intake(stack, "POST", "/topics", json={"title": title, "content": "县档案馆周末不开放，上班族查档不便。",
                                                     "channel": "member_recommended"})
    assert created.status_code == 201, created.text
    ui = stack.devstack.temporal_ui_url
    settings = httpx.get(f"{ui}/api/v1/settings", timeout=10).json()
    endpoint = settings["Codec"]["Endpoint"]
    assert endpoint == f"{stack.url('intake')}/codec"
    described = httpx.get(f"{ui}/api/v1/namespaces/default/workflows/{created.json()['workflow_id']}", timeout=10).json()
    summary = described["executionConfig"]["userMetadata"]["summary"]
    assert base64.b64decode(summary["metadata"]["encoding"]) == b"binary/encrypted"
    assert title.encode() not in base64.b64decode(summary["data"])
    body = {"payloads": [summary]}
    headers = {"Origin": ui, "X-Namespace": "default"}
    for role, status in ((None, 401), (Role.PUBLIC, 403), (Role.DEPARTMENT, 403), (Role.OPERATOR, 200), (Role.CLERK, 200)):
        auth = {} if role is None else stack.auth(role, department=EDU) if role is Role.DEPARTMENT else stack.auth(role)
        response = httpx.post(f"{endpoint}/decode", json=body, headers={**headers, **auth}, timeout=10)
        assert response.status_code == status, (role, response.text)
        assert response.headers.get("access-control-allow-origin") == ui
        if status == 200:
            [decoded] = response.json()["payloads"]
            assert json.loads(base64.b64decode(decoded["data"])) == f"议题 #{created.json()['id']} · 委员荐题"
        else:
            assert title not in response.text
