"""The consultation's notices to everyone behind a topic (workflows/activities.py): the
group notice, then one per submitter and co-signer keyed by the recipient; a draw that is
announced (status "announced") is told to them once per draw. A fake service client
stands for intake and evaluation."""

from __future__ import annotations

from typing import Any

from workflows.activities import DrawRequest, LifecycleActivities, NoticeRequest


class FakeServices:
    def __init__(self, draw_status: str = "announced") -> None:
        self.posted: list[tuple[str, str, Any, str | None]] = []
        self.draw_status = draw_status

    async def request(self, service, method, path, *, json=None, params=None, idempotency_key=None):
        self.posted.append((service, path, json, idempotency_key))
        if path == "/draws":
            return {"id": 7, "round": 0, "panel": [], "drawn": [], "status": self.draw_status,
                    "portfolio_hash": "ab" * 32, "commitment": "cd" * 32,
                    "public_randomness_at": "2026-12-08T00:00:00+00:00"}
        return {"id": len(self.posted)}

    async def get_json(self, service, path, *, params=None):
        assert (service, path) == ("intake", "/topics/5/submitters")
        return {"topic_id": 5, "topics": [5, 4], "recipients": ["resident:resident-a", "submission:9"],
                "submissions": 2, "cosigners": 1}


async def test_a_group_notice_goes_to_each_submitter_once_per_recipient() -> None:
    services = FakeServices()
    activities = LifecycleActivities(services)  # type: ignore[arg-type]
    notice = NoticeRequest(idempotency_key="topic-5-topic.rejected", kind="topic.rejected",
                           recipients=["submitters:topic-5"], payload={"topic_id": 5, "stage": "rejected"})
    await activities.send_notice(notice)
    await activities.send_notice(notice)  # a retry: the same keys again, nothing new
    sent = [(body["recipients"], key) for _, path, body, key in services.posted if path == "/notifications"]
    assert sent[:3] == [
        (["submitters:topic-5"], "topic-5-topic.rejected"),
        (["resident:resident-a"], sent[1][1]),
        (["submission:9"], sent[2][1]),
    ]
    assert sent[3:] == sent[:3]
    assert len({key for _, key in sent}) == 3 and all(k.startswith("topic-5-topic.rejected:to-") for _, k in sent[1:3])


async def test_an_announced_draw_is_told_to_everyone_behind_the_topic() -> None:
    services = FakeServices()
    activities = LifecycleActivities(services)  # type: ignore[arg-type]
    await activities.draw_participants(DrawRequest(topic_id=5, round=0, composition={"talent": 1}, expertise=[],
                                                   exclude_departments=[]))
    notices = [(body, key) for _, path, body, key in services.posted if path == "/notifications"]
    assert [body["recipients"] for body, _ in notices] == [
        ["submitters:topic-5", "role:clerk"], ["resident:resident-a"], ["submission:9"]]
    body, key = notices[0]
    assert key == "topic-5-draw-7-announced" and body["kind"] == "draw.announced"
    assert body["payload"] == {"topic_id": 5, "draw_id": 7, "round": 0,
                               "public_randomness_at": "2026-12-08T00:00:00+00:00"}
    # A draw made at once (not announced) tells nobody.
    quiet = FakeServices(draw_status="drawn")
    await LifecycleActivities(quiet).draw_participants(  # type: ignore[arg-type]
        DrawRequest(topic_id=5, round=0, composition={"talent": 1}, expertise=[], exclude_departments=[]))
    assert [path for _, path, _, _ in quiet.posted] == ["/draws"]
