"""Two phases in time (issue 11, part 1): ConsultationWorkflow announces each draw
before its seed exists, waits (a durable timer) until the announced public value is
known, waits for staff to enter it (a validated update: refused too early, for another
draw, or malformed), then reveals the draw; replacement rounds do the same. The run
replays against the code.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from workflows.activities import (
    DrawRequest,
    DrawResult,
    HandOverRequest,
    NoticeRequest,
    RecordEventInput,
    ReplacementRequest,
    RevealRequest,
    TopicStage,
)
from workflows.consultation import (
    ConsultationInput,
    ConsultationWorkflow,
    DecisionInput,
)
from workflows.followup_types import FollowUpClosed
from workflows.lifecycle_types import (
    ConsultationTiming,
    InvitationAnswer,
    MeetingHeld,
    PublicValue,
    ResearchCompleted,
)

LOTTERY = "3.8.12.17.29.41./5./"


class Talent:
    """A fake talent: announced draws have no panel until revealed."""

    def __init__(self) -> None:
        self.announced: list[DrawRequest | ReplacementRequest] = []
        self.reveals: list[RevealRequest] = []
        self.panels: dict[int, list[int]] = {}
        self.next_person = 100

    def activities(self) -> list:
        talent = self

        @activity.defn(name="record_consultation_event")
        async def record(params: RecordEventInput) -> int:
            return 1

        @activity.defn(name="mirror_topic_stage")
        async def mirror(params: TopicStage) -> None:
            return None

        @activity.defn(name="send_notice")
        async def notice(params: NoticeRequest) -> None:
            return None

        @activity.defn(name="draw_participants")
        async def draw(params: DrawRequest) -> DrawResult:
            assert params.announce is not None
            talent.announced.append(params)
            talent.panels[1] = [101, 102, 103]
            return DrawResult(draw_id=1, round=0, panel=[], drawn=[], portfolio_hash="a" * 64, commitment="c" * 64)

        @activity.defn(name="draw_replacements")
        async def replace(params: ReplacementRequest) -> DrawResult:
            assert params.announce is not None
            talent.announced.append(params)
            kept = [p for p in talent.panels[params.draw_id] if p not in params.declined]
            talent.panels[params.draw_id + 1] = kept + [200 + i for i in range(len(params.declined))]
            return DrawResult(draw_id=params.draw_id + 1, round=params.round, panel=[], drawn=[],
                              portfolio_hash="b" * 64, commitment="d" * 64)

        @activity.defn(name="reveal_draw")
        async def reveal(params: RevealRequest) -> DrawResult:
            talent.reveals.append(params)
            panel = talent.panels[params.draw_id]
            before = talent.panels.get(params.draw_id - 1, [])
            return DrawResult(draw_id=params.draw_id, round=params.round, panel=panel,
                              drawn=[p for p in panel if p not in before])

        @activity.defn(name="hand_over_commitments")
        async def hand_over(params: HandOverRequest) -> list[int]:
            return [501]

        return [record, mirror, notice, draw, replace, reveal, hand_over]


async def test_each_draw_is_announced_then_revealed_with_the_public_value_staff_enter(env: WorkflowEnvironment) -> None:
    talent = Talent()
    queue = f"announced-{uuid.uuid4().hex[:8]}"
    timing = ConsultationTiming(seconds_per_day=1.0, research_days=60, research_reminder_days=1,
                                invitation_reply_days=60, evaluation_window_days=0.2, public_value_days=1.5,
                                public_value_source="测试本地随机值", public_value_format="lottery")
    async with Worker(env.client, task_queue=queue, workflows=[ConsultationWorkflow], activities=talent.activities()):
        topic_id = uuid.uuid4().int % 10**9
        handle = await env.client.start_workflow(
            ConsultationWorkflow.run, ConsultationInput(topic_id=topic_id, channel="public_online", timing=timing),
            id=f"consultation-{topic_id}", task_queue=queue)
        await handle.execute_update(ConsultationWorkflow.decide, DecisionInput(
            decision_id=1, outcome="accepted", format="sector_micro", organiser="liaison-studio", plan_year=2031))
        await wait_for(handle, lambda s: s.stage == "research")
        await handle.execute_update(ConsultationWorkflow.complete_research, ResearchCompleted(report_id=1))

        # round 0: announced, not drawn; the status shows the announcement
        status = await wait_for(handle, lambda s: s.announcement is not None)
        announcement = status.announcement
        assert status.stage == "drawing" and status.panel == []
        assert announcement.draw_id == 1 and announcement.portfolio_hash == "a" * 64
        assert announcement.public_randomness_source.startswith("测试本地随机值")
        request = talent.announced[0]
        assert request.announce.source == announcement.public_randomness_source
        at = datetime.fromisoformat(announcement.public_randomness_at)
        assert at > datetime.now(UTC)
        # too early, another draw, a malformed value: refused, nothing revealed
        for value in (PublicValue(draw_id=1, public_randomness=LOTTERY),
                      PublicValue(draw_id=2, public_randomness=LOTTERY)):
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(ConsultationWorkflow.enter_public_value, value)
        await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.3)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(ConsultationWorkflow.enter_public_value,
                                        PublicValue(draw_id=1, public_randomness="41.3./"))
        assert talent.reveals == []
        await handle.execute_update(ConsultationWorkflow.enter_public_value,
                                    PublicValue(draw_id=1, public_randomness=LOTTERY))
        status = await wait_for(handle, lambda s: s.stage == "inviting")
        assert status.panel == [101, 102, 103] and status.announcement is None
        assert [(r.draw_id, r.public_randomness) for r in talent.reveals] == [(1, LOTTERY)]

        # a decline: the replacement round is announced and revealed the same way
        await handle.execute_update(ConsultationWorkflow.answer_invitation, InvitationAnswer(person_id=101, accepted=False))
        status = await wait_for(handle, lambda s: s.announcement is not None)
        assert status.announcement.draw_id == 2 and status.announcement.round == 1
        assert talent.announced[1].declined == [101]
        at = datetime.fromisoformat(status.announcement.public_randomness_at)
        await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.3)
        await handle.execute_update(ConsultationWorkflow.enter_public_value,
                                    PublicValue(draw_id=2, public_randomness="1.2./"))
        status = await wait_for(handle, lambda s: 200 in s.panel)
        assert sorted(status.panel) == [102, 103, 200]
        for pid in (102, 103, 200):
            await handle.execute_update(ConsultationWorkflow.answer_invitation, InvitationAnswer(person_id=pid, accepted=True))
        await wait_for(handle, lambda s: s.stage == "meeting")
        await handle.execute_update(ConsultationWorkflow.meeting_held, MeetingHeld(meeting_id=9))
        status = await wait_for(handle, lambda s: bool(s.commitment_ids))
        await handle.signal(ConsultationWorkflow.follow_up_closed, FollowUpClosed(
            commitment_id=501, satisfaction="satisfied", closed_at=datetime.now(UTC).isoformat()))
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.stage == "closed"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    await Replayer(workflows=[ConsultationWorkflow]).replay_workflow(history)
    if os.environ.get("XIESHANG_RECORD_HISTORIES"):
        (Path(__file__).resolve().parents[1] / "histories" / "consultation_announced_draws.json").write_text(
            history.to_json())


async def wait_for(handle, condition, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await handle.query(ConsultationWorkflow.status)
        if condition(status):
            return status
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out; last status {status}")
        await asyncio.sleep(0.05)
