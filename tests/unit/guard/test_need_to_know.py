"""Need to know: names of pool members and meeting attendees go to clerks only; every
other reader (chair, committee, operator, service) gets ids and categories."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.auth import Role
from services.common.db import create_engine, session_factory
from services.intake.meetings.models import Meeting, MeetingAttendee

from .conftest import Services

NON_CLERK_READERS = (Role.CHAIR, Role.COMMITTEE, Role.OPERATOR, Role.SERVICE)


async def test_pool_members_names_and_contacts_are_for_clerks(services: Services) -> None:
    talent = services.clients["talent"]
    made = await talent.post("/people", json={"kind": "talent", "display_name": "王小明", "phone": "13812345678",
                                              "town": "玉蟾街道"}, headers=services.auth(Role.CLERK))
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    clerk = (await talent.get(f"/people/{pid}", headers=services.auth(Role.CLERK))).json()
    assert clerk["display_name"] == "王小明" and clerk["contact"]["phone"] == "13812345678"
    for role in NON_CLERK_READERS:
        one = await talent.get(f"/people/{pid}", headers=services.auth(role))
        listed = await talent.get("/people", headers=services.auth(role))
        assert one.status_code == listed.status_code == 200
        for shown in (one.json(), listed.json()["items"][0]):
            assert shown["display_name"] is None and shown["contact"] is None, role
            assert (shown["id"], shown["town"]) == (pid, "玉蟾街道")
        assert "王小明" not in one.text + listed.text and "138123" not in one.text + listed.text


async def test_meeting_attendees_names_are_for_clerks(services: Services) -> None:
    intake = services.clients["intake"]
    topic = await intake.post("/topics", json={"title": "普惠性幼儿园学位不足", "content": "城区公办幼儿园学位紧张，建议新建。",
                                               "channel": "member_proposal"}, headers=services.auth(Role.CLERK))
    assert topic.status_code == 201, topic.text
    engine = create_engine(services.settings.database_url("intake"))
    async with session_factory(engine)() as session:
        meeting = Meeting(topic_id=topic.json()["id"], held_at=datetime(2026, 11, 3, 2, tzinfo=UTC), minutes="纪要",
                          consensus="共识", recorded_by="office-1", attendees=[
                              MeetingAttendee(name="李明", category="member"),
                              MeetingAttendee(name="周局长", category="department", organisation="教育体育局"),
                          ])
        session.add(meeting)
        await session.commit()
        mid = meeting.id
    await engine.dispose()

    clerk = (await intake.get(f"/meetings/{mid}", headers=services.auth(Role.CLERK))).json()
    assert [a["name"] for a in clerk["attendance"]] == ["李明", "周局长"]
    for role in NON_CLERK_READERS:
        for path in (f"/meetings/{mid}", f"/topics/{topic.json()['id']}/meetings"):
            answer = await intake.get(path, headers=services.auth(role))
            assert answer.status_code == 200, answer.text
            shown = answer.json() if isinstance(answer.json(), dict) else answer.json()[0]
            assert [(a["name"], a["category"], a["organisation"]) for a in shown["attendance"]] == [
                (None, "member", None), (None, "department", "教育体育局")], role
            assert "李明" not in answer.text and "周局长" not in answer.text
