"""The public page's residents and reads, on a migrated SQLite database over ASGI:
device-bound sessions and their rate limit, co-signatures (联名) once per resident,
everyone behind a merged topic (并案), the public JSON and HTML without personal data,
and the WeChat sign-in over a mock transport (no internet)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.common.auth import Role, mint_token
from services.common.db import create_engine, session_factory
from services.common.migrate import upgrade
from services.common.problems import Problem
from services.common.service_app import create_service_app
from services.common.settings import Settings
from services.intake.public.views import routers as public_routers
from services.intake.residents import service as residents
from services.intake.residents.identity import SignIn, WeChatOAuthProvider
from services.intake.residents.views import router as residents_router
from services.intake.submissions.views import router as submissions_router
from services.intake.topics import service as topics
from services.intake.topics.models import Submission, Topic

SECRET = "k" * 40
PHONE = "13912345678"
NAME = "王秀英"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, object]]:
    url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    await asyncio.to_thread(upgrade, "intake", url)
    settings = Settings(intake_database_url=url, jwt_secret=SECRET, data_dir=str(tmp_path),
                        temporal_address="127.0.0.1:1", evaluation_url="http://127.0.0.1:1",
                        talent_url="http://127.0.0.1:1", http_timeout_seconds=2)
    app = create_service_app("intake", title="t", description="t", settings=settings,
                             routers=[submissions_router, residents_router, *public_routers])
    engine = create_engine(url)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client, settings, app.state.sessions
    await engine.dispose()


async def _session(client: httpx.AsyncClient, device: str) -> dict:
    response = await client.post("/public/session", json={"device_id": device})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_session_is_bound_to_its_device(stack) -> None:
    client, _, _ = stack
    first = await _session(client, "device-aaaaaaaaaaaaaaaa")
    again = await _session(client, "device-aaaaaaaaaaaaaaaa")
    other = await _session(client, "device-bbbbbbbbbbbbbbbb")
    assert first["provider"] == "dev" and first["resident"] == again["resident"] != other["resident"]
    auth = {"Authorization": f"Bearer {first['token']}"}
    # Without the device, or from another one, the token is worth nothing.
    for headers in (auth, {**auth, "X-Xieshang-Device": "device-bbbbbbbbbbbbbbbb"}):
        refused = await client.get("/public/submissions/1", headers=headers)
        assert refused.status_code == 401 and "device" in refused.json()["detail"]
    answered = await client.get("/public/submissions/1", headers={**auth, "X-Xieshang-Device": "device-aaaaaaaaaaaaaaaa"})
    assert answered.status_code == 404  # authenticated: no submission 1 of theirs
    bad = await client.post("/public/session", json={"device_id": "short"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("device_id")


async def test_sessions_are_rate_limited_per_device(stack) -> None:
    client, _, _ = stack
    answers = [await client.post("/public/session", json={"device_id": "device-cccccccccccccccc"}) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [201] * 10
    assert answers[10].status_code == 429 and int(answers[10].headers["Retry-After"]) >= 1


async def _topic(sessions, title: str, submitter: str, channel: str = "public_online") -> int:
    async with sessions() as session:
        topic = Topic(title=title, content=f"{title}，联系人{NAME}，电话{PHONE}", channel=channel, registered_by=submitter,
                      search_text=title, signature=b"\x01", stage="submitted")
        session.add(topic)
        await session.flush()
        session.add(Submission(topic_id=topic.id, channel=channel, status="accepted", title_raw=title,
                               content_raw=f"电话{PHONE}", title_normalised=title, content_normalised=title,
                               submitted_by=submitter, submitter_name=NAME, contact=PHONE))
        await session.commit()
        return topic.id


def _resident(settings: Settings, device: str, subject: str) -> dict[str, str]:
    from services.common.auth import device_fingerprint

    token = mint_token(settings, role=Role.PUBLIC, subject=subject, device=device_fingerprint(device))
    return {"Authorization": f"Bearer {token}", "X-Xieshang-Device": device}


async def test_cosign_once_per_resident_and_merged_topics_reach_every_submitter(stack) -> None:
    client, settings, sessions = stack
    x = await _topic(sessions, "小区路灯不亮", "resident-x")
    y = await _topic(sessions, "夜间照明不足", "resident-y")
    z = await _topic(sessions, "路灯维修", "office-1", channel="member_recommended")
    alice = _resident(settings, "device-alice-000000000", "resident-alice")
    bob = _resident(settings, "device-bob-00000000000", "resident-bob")
    first = await client.post(f"/public/topics/{x}/cosign", headers=alice)
    again = await client.post(f"/public/topics/{x}/cosign", headers=alice)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["cosigners"] == again.json()["cosigners"] == 1
    assert (await client.post(f"/public/topics/{x}/cosign", headers=bob)).json()["cosigners"] == 2
    assert (await client.post("/public/topics/999/cosign", headers=bob)).status_code == 404
    # 并案: x and z are merged into y (as decisions/service.py applies a merge).
    async with sessions() as session:
        for merged in (x, z):
            await topics.move_supporters(session, merged, y)
            (await session.get(Topic, merged)).merged_into_id = y
            (await session.get(Topic, merged)).stage = "merged"
        await session.commit()
    # A co-signature on a merged topic goes to the topic it joined.
    carol = _resident(settings, "device-carol-000000000", "resident-carol")
    joined = await client.post(f"/public/topics/{x}/cosign", headers=carol)
    assert joined.status_code == 201 and joined.json()["topic_id"] == y
    async with sessions() as session:
        of_x = await residents.topic_submitters(session, x)
        of_y = await residents.topic_submitters(session, y)
    # The topic merged away still reaches exactly its own people...
    assert set(of_x.recipients) == {"resident:resident-x", "resident:resident-alice", "resident:resident-bob"}
    # ...and the topic they joined reaches everyone behind every merged submission.
    z_submission = f"submission:{(await _submission_of(sessions, z))}"
    assert set(of_y.recipients) == {"resident:resident-x", "resident:resident-y", z_submission,
                                    "resident:resident-alice", "resident:resident-bob", "resident:resident-carol"}
    assert of_y.topics == [y, x, z] and of_y.submissions == 3 and of_y.cosigners == 3
    # The public reads count them, and show nothing personal.
    async with sessions() as session:
        (await session.get(Topic, y)).stage = "follow_up"  # so the page asks talent and evaluation
        await session.commit()
    public = await client.get(f"/public/topics/{y}")
    assert public.status_code == 200
    assert (public.json()["supporters"], public.json()["cosigners"]) == (3, 3)
    page = await client.get(f"/public/page/topics/{y}")
    assert page.status_code == 200 and "夜间照明不足" in page.text
    for text in (public.text, page.text):
        assert PHONE not in text and NAME not in text and "resident-" not in text
    assert "暂时无法读取" in page.text  # talent and evaluation do not answer here: said, not failed


async def _submission_of(sessions, topic_id: int) -> int:
    from sqlalchemy import select

    async with sessions() as session:
        return await session.scalar(select(Submission.id).where(Submission.merged_from_topic_id == topic_id))


def test_a_subject_that_could_pass_for_a_phone_number_goes_hashed() -> None:
    assert residents.resident_recipient("resident-abc") == "resident:resident-abc"
    hashed = residents.resident_recipient(f"user{PHONE}")
    assert hashed.startswith("resident:sha256-") and PHONE not in hashed


async def test_public_plan_and_pages_without_a_token(stack) -> None:
    client, _, _ = stack
    plan = await client.get("/public/plans/2026")
    assert plan.status_code == 200 and plan.json()["entries"] == [] and plan.json()["complete"] is False
    page = await client.get("/public/page?year=2026")
    assert page.status_code == 200 and "2026年度协商计划" in page.text and 'lang="zh-CN"' in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert (await client.get("/public/page/topics/424242")).status_code == 404
    script = await client.get("/public/page/column.js")
    assert script.status_code == 200 and "X-Xieshang-Device" in script.text
    assert (await client.get("/public/plans/1999")).status_code == 422


async def test_wechat_sign_in_exchanges_the_code_for_the_openid() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.params["code"] == "good-code":
            return httpx.Response(200, json={"access_token": "t", "openid": "oABCdef123456789", "scope": "snsapi_base"})
        return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})

    provider = WeChatOAuthProvider("wx-app", "app-secret", transport=httpx.MockTransport(answer))
    assert await provider.subject(SignIn(device_id="d" * 16, code="good-code")) == "wx-oABCdef123456789"
    assert seen[0].url.params["grant_type"] == "authorization_code" and seen[0].url.params["appid"] == "wx-app"
    with pytest.raises(Problem) as refused:
        await provider.subject(SignIn(device_id="d" * 16, code="used-code"))
    assert refused.value.status == 401
    with pytest.raises(Problem) as missing:
        await provider.subject(SignIn(device_id="d" * 16))
    assert missing.value.status == 422
    url = provider.authorize_url("https://example.org/public/page", "s1")
    assert "scope=snsapi_base" in url and url.endswith("#wechat_redirect")
    assert json.dumps({"secret": "app-secret"}) not in url
