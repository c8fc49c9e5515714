"""Submissions from the seven channels, the public column, screening, moderation,
rate limits, near-duplicates joining their topic, and Idempotency-Key; over HTTP on
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from services.common.auth import Role
from tests.e2e.intake_helpers import (
    assert_problem,
    counts,
    early_in_a_minute,
    get,
    new_topic,
    post,
    resident,
)
from tests.stack import Stack

pytestmark = pytest.mark.e2e

CHANNEL_CASES = [
    ("party_committee_assigned", {"office": "县委办公室"}, "乡村振兴重点帮扶村集体经济发展", "县委交办：研究重点帮扶村集体经济薄弱问题，提出发展路径。"),
    ("government_requested", {"office": "县政府办公室"}, "城区停车难问题", "政府点题：城区老旧小区停车位严重不足，请政协协商。"),
    ("member_recommended", {"member_name": "李明", "sector": "教育界"}, "农村学校午餐营养改善", "农村小学午餐营养搭配单一，建议协商改善供餐标准。"),
    ("member_proposal", {"member_name": "张华"}, "中药材产业链延伸", "建议延伸龙城中药材种植加工产业链，带动农户增收。"),
    ("sector_proposal", {"sector": "民盟"}, "职业教育与本地产业对接", "民盟界别提出：职业学校专业设置与本地制造企业需求脱节。"),
    ("town_liaison_proposal", {"liaison_group": "方洞镇联络组"}, "方洞镇农贸市场改造", "方洞镇农贸市场棚顶破损，雨天积水，建议改造。"),
    ("public_online", {"submitter_name": "王女士", "contact": "13800000000"}, "小区电梯老化", "我们小区电梯经常困人，维修资金申请难，希望协调。"),
]


@pytest.mark.parametrize(("channel", "extra", "title", "content"), CHANNEL_CASES, ids=[c[0] for c in CHANNEL_CASES])
def test_every_channel_is_kept_raw_and_normalised(stack: Stack, channel: str, extra: dict, title: str, content: str) -> None:
    clerk = stack.auth(Role.CLERK)
    body = {"channel": channel, "title": title + "！！", "content": content, **extra}
    created = post(stack, "/submissions", body, clerk)
    assert created.status_code == 201, created.text
    s = created.json()
    assert s["channel"] == channel and s["status"] == "accepted" and s["joined_as"] == "opened"
    assert s["title_raw"] == title + "！！"  # as received
    assert s["title_normalised"].endswith("!") and "！" not in s["title_normalised"]  # folded
    for name, value in extra.items():
        assert s[name] == value
    assert s["received_at"]
    topic = get(stack, f"/topics/{s['topic_id']}", clerk).json()
    assert topic["channel"] == channel and topic["support_count"] == 1 and topic["stage"] == "submitted"


def test_channel_fields_are_required_and_foreign_ones_refused(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    before = counts(stack)
    base = {"title": "渠道字段测试", "content": "渠道字段测试内容"}
    assert_problem(post(stack, "/submissions", {**base, "channel": "sector_proposal"}, clerk), 422, "sector", "missing")
    assert_problem(
        post(stack, "/submissions", {**base, "channel": "sector_proposal", "sector": "民建", "contact": "x"}, clerk),
        422, "contact", "not_allowed_for_channel",
    )
    assert_problem(post(stack, "/submissions", {**base, "channel": "member_recommended"}, clerk), 422, "member_name", "missing")
    assert_problem(post(stack, "/submissions", {**base, "channel": "government_requested"}, clerk), 422, "office", "missing")
    assert counts(stack) == before


def test_public_submission_traditional_script_joins_the_same_concern(stack: Stack) -> None:
    sender = resident(stack)
    first = post(
        stack, "/public/submissions",
        {"title": "云锦镇路灯不亮", "content": "云锦镇老街的路灯坏了三个月，晚上出行很不安全，希望尽快修好路灯。"},
        sender,
    )
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["status"] == "received" and receipt["topic_id"]
    # The same concern in Traditional script, full-width marks, anonymous.
    again = post(
        stack, "/public/submissions",
        {"title": "雲錦鎮路燈不亮！！", "content": "雲錦鎮老街的路燈壞了三個月，晚上出行很不安全！！希望盡快修好路燈。"},
        resident(stack),
    )
    assert again.status_code == 201, again.text
    assert again.json()["topic_id"] == receipt["topic_id"]
    # The sender sees what became of it; another resident does not.
    mine = get(stack, f"/public/submissions/{receipt['submission_id']}", sender)
    assert mine.json() == {**receipt, "topic_stage": "submitted"}
    assert_problem(get(stack, f"/public/submissions/{receipt['submission_id']}", resident(stack)), 404)
    clerk = stack.auth(Role.CLERK)
    topic = get(stack, f"/topics/{receipt['topic_id']}", clerk).json()
    assert topic["support_count"] == 2
    supporters = get(stack, "/submissions", clerk, topic_id=receipt["topic_id"]).json()["items"]
    assert [s["joined_as"] for s in supporters] == ["opened", "duplicate"]
    assert supporters[1]["title_raw"] == "雲錦鎮路燈不亮！！" and "云锦镇路灯" in supporters[1]["title_normalised"]
    # A different concern in the same town opens its own topic.
    other = post(
        stack, "/public/submissions",
        {"title": "云锦镇中学食堂", "content": "云锦镇中学食堂饭菜价格上涨，学生家长负担重，希望教育部门核查。"},
        resident(stack),
    )
    assert other.status_code == 201 and other.json()["topic_id"] != receipt["topic_id"]


def test_public_contact_is_stored_but_never_shown_to_the_public(stack: Stack) -> None:
    response = post(
        stack, "/public/submissions",
        {"title": "公交站台没有遮雨棚", "content": "玄滩镇汽车站旁公交站台没有遮雨棚，老人等车淋雨。", "contact": "微信 lx-resident-88"},
        resident(stack),
    )
    assert response.status_code == 201
    assert "contact" not in response.json() and "微信" not in response.text
    stored = get(stack, f"/submissions/{response.json()['submission_id']}", stack.auth(Role.CLERK)).json()
    assert stored["contact"] == "微信 lx-resident-88" and stored["submitter_name"] is None
    # Operators read the process, not people: no contact for them.
    seen = get(stack, f"/submissions/{response.json()['submission_id']}", stack.auth(Role.OPERATOR)).json()
    assert seen["contact"] is None and seen["content_raw"] == stored["content_raw"]


SPAM = [
    ("百家乐|真人荷官|开户送彩金|澳门葡京|时时彩|北京赛车", "keyword_list"),
    ("加微信 abc12345 日结兼职，刷单返利，详询私聊 http://spam.example.com http://spam2.example.com", "contact_advert"),
    # "学位不足医院停车" as UTF-8 bytes read as GBK (乱码); screening offers the repair.
    ("瀛︿綅涓嶈冻鍖婚櫌鍋滆溅", "garbled"),
]


@pytest.mark.parametrize(("content", "code"), SPAM, ids=[c for _, c in SPAM])
def test_spam_goes_to_moderation_with_reasons_and_a_clerk_decides(stack: Stack, content: str, code: str) -> None:
    topics_before, _ = counts(stack)
    held = post(stack, "/public/submissions", {"title": "建议", "content": content}, resident(stack))
    assert held.status_code == 202, held.text
    assert held.json() == {"submission_id": held.json()["submission_id"], "status": "in_review", "topic_id": None,
                           "topic_stage": None}
    clerk = stack.auth(Role.CLERK)
    queue = get(stack, "/moderation", clerk, limit=200).json()["items"]
    item = next(s for s in queue if s["id"] == held.json()["submission_id"])
    assert code in [r["code"] for r in item["screening_reasons"]] and item["spam_score"] >= 0.5
    assert counts(stack)[0] == topics_before  # no topic, no consultation, but kept
    if code == "garbled":
        assert item["repaired_text"] and item["repaired_text"] == "学位不足医院停车"
        released = post(stack, f"/moderation/{item['id']}/release", {"use_repaired_text": True, "note": "乱码已修复"}, clerk)
        assert released.status_code == 200, released.text
        assert released.json()["status"] == "accepted" and released.json()["topic_id"]
    else:
        assert_problem(post(stack, f"/moderation/{item['id']}/reject", {}, clerk), 422, "note", "missing")
        rejected = post(stack, f"/moderation/{item['id']}/reject", {"note": "广告"}, clerk)
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
        assert rejected.json()["moderation_note"] == "广告"
        assert_problem(post(stack, f"/moderation/{item['id']}/release", {}, clerk), 409)
    # A public token cannot moderate.
    assert_problem(post(stack, f"/moderation/{item['id']}/release", {}, resident(stack)), 403)


def test_flood_goes_to_moderation_then_hard_limit_is_429(stack: Stack) -> None:
    sender = resident(stack)
    statuses = []
    early_in_a_minute()  # the seven in one window of the per-minute limits
    for n in range(7):
        response = post(
            stack, "/public/submissions",
            {"title": f"第{n}条意见", "content": f"关于河道第{n}段垃圾清理的意见{uuid.uuid4().hex[:4]}，请环保部门处理。"},
            sender,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            problem = assert_problem(response, 429)
            assert int(response.headers["Retry-After"]) >= 1 and "retry" in problem["detail"]
    # 3 per minute are fine, the 4th to 6th are held as a flood, the 7th refused.
    assert statuses == [201, 201, 201, 202, 202, 202, 429], statuses
    queue = get(stack, "/moderation", stack.auth(Role.CLERK), limit=200).json()["items"]
    assert any("flood" in [r["code"] for r in s["screening_reasons"]] for s in queue)
    # Another sender from the same address is limited by address too.
    same_address = {**resident(stack), "X-Forwarded-For": sender["X-Forwarded-For"]}
    response = post(stack, "/public/submissions", {"title": "又一条", "content": "同一地址的另一位居民。"}, same_address)
    assert response.status_code == 429


def test_idempotency_key_replays_the_first_answer(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    key = str(uuid.uuid4())
    body = {"title": "学校门口交通拥堵", "content": "福集镇小学门口上下学高峰拥堵，建议设置临时停车区。", "channel": "member_recommended"}
    before = counts(stack)
    first = post(stack, "/topics", body, {**clerk, "Idempotency-Key": key})
    again = post(stack, "/topics", body, {**clerk, "Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert counts(stack) == (before[0] + 1, before[1] + 1)
    # The same key for a different request is a client error, and stores nothing.
    other = post(stack, "/topics", {**body, "title": "别的议题"}, {**clerk, "Idempotency-Key": key})
    assert_problem(other, 422)
    assert "Idempotency-Key" in other.json()["detail"]
    # Public submissions too: a retried submission is one supporter, not two.
    sender = resident(stack)
    pkey = {"Idempotency-Key": str(uuid.uuid4())}
    payload = {"title": "村道塌方", "content": "嘉明镇某村村道塌方半年未修，摩托车经常摔倒。"}
    a = post(stack, "/public/submissions", payload, {**sender, **pkey})
    b = post(stack, "/public/submissions", payload, {**sender, **pkey})
    assert a.json() == b.json() and a.status_code == b.status_code == 201
    assert get(stack, f"/topics/{a.json()['topic_id']}", clerk).json()["support_count"] == 1
    # A failed request releases its key: the corrected retry runs.
    bad_key = {**clerk, "Idempotency-Key": str(uuid.uuid4())}
    assert post(stack, "/organisers", {"code": "bad code", "name": "x", "kind": "town_studio"}, bad_key).status_code == 422
    ok = post(stack, "/organisers", {"code": f"idem-{uuid.uuid4().hex[:6]}", "name": "测试工作室", "kind": "town_studio"}, bad_key)
    assert ok.status_code == 201, ok.text


def test_staff_merge_and_split(stack: Stack) -> None:
    clerk = stack.auth(Role.CLERK)
    a = new_topic(stack, "养老服务中心运营难", "海潮镇养老服务中心建成后缺少运营资金，老人用餐不便。")
    b = new_topic(stack, "老年食堂开办", "建议在海潮镇开办老年食堂，解决独居老人吃饭问题。")
    extra = post(
        stack, "/submissions",
        {"channel": "member_recommended", "member_name": "赵强", "title": "海潮镇养老服务中心运营",
         "content": "海潮镇养老服务中心运营资金不足，老人用餐难，建议财政补助。"},
        clerk,
    ).json()
    assert extra["topic_id"] == a["id"] and extra["joined_as"] == "duplicate"
    merged = post(stack, f"/topics/{b['id']}/merge", {"into_topic_id": a["id"], "reason": "同一关切"}, clerk)
    assert merged.status_code == 201, merged.text
    assert merged.json()["outcome"] == "merged" and merged.json()["stage"] == "merged"
    target = get(stack, f"/topics/{a['id']}", clerk).json()
    assert target["support_count"] == 3
    source = get(stack, f"/topics/{b['id']}", clerk).json()
    assert source["stage"] == "merged" and source["merged_into_id"] == a["id"] and source["support_count"] == 0
    # Split the member's submission back out into a topic of its own.
    split = post(stack, f"/topics/{a['id']}/split", {"submission_ids": [extra["id"]], "title": "养老服务中心财政补助"}, clerk)
    assert split.status_code == 201, split.text
    assert split.json()["support_count"] == 1 and split.json()["title"] == "养老服务中心财政补助"
    assert get(stack, f"/topics/{a['id']}", clerk).json()["support_count"] == 2
    assert_problem(post(stack, f"/topics/{a['id']}/split", {"submission_ids": [999999]}, clerk), 422, "submission_ids")


def test_contact_stays_out_of_logs_workflow_history_and_search_attributes(stack: Stack) -> None:
    import asyncio

    contact, name = "手机 13912345678", "隐私测试居民"
    response = post(
        stack, "/public/submissions",
        {"title": "石桥镇垃圾站臭味", "content": "石桥镇垃圾中转站夏天臭味很大，建议加盖除臭。", "contact": contact,
         "submitter_name": name},
        resident(stack),
    )
    assert response.status_code == 201, response.text
    workflow_id = f"consultation-{response.json()['topic_id']}"

    async def history_and_attributes() -> tuple[bytes, bytes]:
        from services.common.codec import decode_in_place

        client = await stack.temporal_client()
        handle = client.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        description = await handle.describe()
        # Payloads as the server stores them (encrypted), then decrypted with the stack's keys.
        raw = b"".join(e.SerializeToString() for e in history.events) + description.raw_description.SerializeToString()
        for event in history.events:
            await decode_in_place(event, client.data_converter.payload_codec)
        return raw, b"".join(e.SerializeToString() for e in history.events)

    raw, decoded = asyncio.run(history_and_attributes())
    assert b"topic_id" not in raw  # payloads (the workflow input's JSON) are encrypted at rest...
    assert b"topic_id" in decoded  # ...and the decrypted ones are there: the check can see payloads
    recorded = raw + decoded
    # Every log the stack writes (stdout and stderr of each process, the worker's too).
    logs = "".join(p.read_text(errors="replace") for p in (stack.devstack.data_dir / "logs").glob("*.log"))
    assert "intake.stderr.log" in {p.name for p in (stack.devstack.data_dir / "logs").glob("*.log")}
    for secret in (contact, "13912345678", name):
        assert secret.encode() not in recorded
        assert secret not in logs


def test_concurrent_retries_with_one_key_store_one_record(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clerk = {**stack.auth(Role.CLERK), "Idempotency-Key": str(uuid.uuid4())}
    # new_topic: other tests may have registered a similar concern; this one must open its own.
    body = {"channel": "government_requested", "office": "县政府办公室", "title": "城区内涝治理", "new_topic": True,
            "content": f"暴雨后城区多处积水，排水管网老化，请政协协商治理方案。{uuid.uuid4().hex[:6]}"}
    before = counts(stack)
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: post(stack, "/submissions", body, clerk), range(4)))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {201, 409} and 201 in codes, codes
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1  # replays answer the first record
    for r in responses:
        if r.status_code == 409:
            assert r.headers["Retry-After"] == "1"
    assert counts(stack) == (before[0] + 1, before[1] + 1)
