"""A two-year commitment with quarterly progress reports under the production policy
(working days of the official calendar), on the time-skipping test server: it runs to its
end in seconds, and continue-as-new keeps every run's history small."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import PatchActivationInput, Replayer, Worker

from services.common.deadlines.escalation_policy import (
    PRODUCTION_POLICY,
    seconds_policy,
)
from services.common.deadlines.working_days import OfficialCalendar
from tests.unit.test_consultation_workflow import HISTORIES
from tests.workflow_env import register_search_attributes, time_skipping_server_path
from workflows.followup import STATE_WITH_RECORD, FollowUpWorkflow
from workflows.followup_activities import FollowUpActivities
from workflows.followup_types import FollowUpAction, FollowUpInput, FollowUpStage
from workflows.ladder import CHANGED_ATTRIBUTES_PATCH, RECORD_LOCAL_PATCH

LADDER = ["reminder", "urge", "committee_supervision", "meeting_supervision", "circulated_notice"]


class RecordingActivities(FollowUpActivities):
    """The real planning code; evaluation's records kept in memory instead of over HTTP
    (the e2e tests cover the HTTP path)."""

    def __init__(self) -> None:
        super().__init__(services=None)  # type: ignore[arg-type]
        self.escalations: dict[str, dict[str, Any]] = {}
        self.states: list[dict[str, Any]] = []  # PUT .../state
        self.mirrored: list[dict[str, Any]] = []  # every state evaluation stored, in order

    async def load_calendar(self) -> OfficialCalendar:
        return OfficialCalendar()

    async def send(self, method: str, path: str, body: Any, key: str | None) -> Any:
        if path.endswith("/escalation-events"):
            assert key is None  # the record is kept by its event_key
            if body["event_key"] not in self.escalations:  # once per event_key, like evaluation
                self.escalations[body["event_key"]] = body
                if body.get("state") is not None:  # stored with the record, in its transaction
                    self.mirrored.append(body["state"])
            return {"id": len(self.escalations)}
        self.states.append(body)
        self.mirrored.append(body)
        return None


@pytest.fixture(scope="module")
async def env():
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=time_skipping_server_path()) as env:
        await register_search_attributes(env.client)
        yield env


async def run_chain(env: WorkflowEnvironment, workflow_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, following continue-as-new from the first."""
    histories = []
    run_id = first_run_id
    while run_id:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else ""
        )
    return histories


def _activities(recorder: RecordingActivities) -> list:
    return [recorder.plan_follow_up, recorder.decide_reopen, recorder.record_escalation, recorder.sync_commitment_state]


async def test_two_year_commitment_with_quarterly_reports_runs_to_its_end(env: WorkflowEnvironment) -> None:
    recorder = RecordingActivities()
    queue = f"q-{uuid.uuid4()}"
    start = await env.get_current_time()
    due = start + timedelta(days=730)
    workflow_id = f"followup-two-years-{uuid.uuid4().hex[:6]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[FollowUpWorkflow], activities=_activities(recorder)
    ):
        handle = await env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(
                commitment_id=1,
                department="教育体育局",
                due_at=due.isoformat(),
                policy=PRODUCTION_POLICY.model_dump(mode="json"),
                started_at=start.isoformat(),
                history_limit=120,
            ),
            id=workflow_id,
            task_queue=queue,
        )
        action_id = 0
        for quarter in range(1, 8):  # seven quarterly reports, then completion in quarter 8
            await env.sleep(timedelta(days=91))
            action_id += 1
            now = await env.get_current_time()
            await handle.execute_update(
                FollowUpWorkflow.apply_action,
                FollowUpAction(action_id=action_id, kind="progress_report", at=now.isoformat()),
            )
        await env.sleep(timedelta(days=60))
        for kind, extra in (("completion", {}), ("verification", {"passed": True}), ("satisfaction", {"rating": "satisfied"})):
            action_id += 1
            now = await env.get_current_time()
            await handle.execute_update(
                FollowUpWorkflow.apply_action, FollowUpAction(action_id=action_id, kind=kind, at=now.isoformat(), **extra)
            )
        result = await handle.result()

        histories = await run_chain(env, workflow_id, handle.result_run_id or "")

    assert result.stage == FollowUpStage.CLOSED
    # Completed about two months before the due date: no rung of the ladder fired,
    # not even the reminder (10 working days before due).
    ladder = [b["step"] for b in recorder.escalations.values() if b["step"] != "progress_missing"]
    assert ladder == []
    # 60 working days is shorter than a quarter: each quarter the report is a few days late.
    missing = [b for b in recorder.escalations.values() if b["step"] == "progress_missing"]
    assert 5 <= len(missing) <= 9, [m["planned_at"] for m in missing]
    assert recorder.states[-1]["status"] == "closed"
    assert len(histories) >= 2, "continue-as-new should have started new runs"
    assert max(len(h.events) for h in histories) < 200
    for n, history in enumerate(histories):
        await Replayer(workflows=[FollowUpWorkflow]).replay_workflow(history)
        if os.environ.get("XIESHANG_RECORD_HISTORIES"):
            (HISTORIES / f"followup_two_years_run{n}.json").write_text(history.to_json())


async def test_overdue_commitment_climbs_the_production_ladder_on_working_days(env: WorkflowEnvironment) -> None:
    recorder = RecordingActivities()
    queue = f"q-{uuid.uuid4()}"
    # Due Tuesday 2025-09-30 at 17:30 CST; the National Day holiday follows (Oct 1–8).
    due = datetime(2025, 9, 30, 9, 30, tzinfo=UTC)
    start = await env.get_current_time()
    async with Worker(env.client, task_queue=queue, workflows=[FollowUpWorkflow], activities=_activities(recorder)):
        handle = await env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(
                commitment_id=2, department="住房城乡建设局", due_at=due.isoformat(),
                policy=PRODUCTION_POLICY.model_dump(mode="json"), started_at=start.isoformat(),
            ),
            id=f"followup-ladder-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )
        status = await handle.query(FollowUpWorkflow.status)
        await env.sleep(timedelta(seconds=5))
        status = await handle.query(FollowUpWorkflow.status)
        await handle.terminate("test over")
    # The test server's clock is now, long after 2025: every rung is due at once and
    # fires once, in order, at the working-day times the policy gives.
    steps = [(b["step"], b["planned_at"]) for b in recorder.escalations.values() if b["step"] != "progress_missing"]
    assert steps == [
        # 10 working days before 9-30, counting Sunday 9-28, a make-up workday (调休).
        ("reminder", "2025-09-17T09:30:00+00:00"),
        # 1 working day after: October 1–8 are the National Day holiday.
        ("urge", "2025-10-09T09:30:00+00:00"),
        # 10 after: 10-9, 10-10, Saturday 10-11 (make-up workday), 10-13 ... 10-21.
        ("committee_supervision", "2025-10-21T09:30:00+00:00"),
        ("meeting_supervision", "2025-11-04T09:30:00+00:00"),
        ("circulated_notice", "2025-11-18T09:30:00+00:00"),
    ]
    assert status.level == 4


def _scheduled(history: WorkflowHistory) -> list[str]:
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")]


def _recorded_locally(history: WorkflowHistory) -> list[str]:
    """The activity types of the local activities the workflow ran (each is a marker in
    its history; core writes the marker's ``data`` as plain JSON)."""
    types = []
    for e in history.events:
        if e.HasField("marker_recorded_event_attributes") and \
                e.marker_recorded_event_attributes.marker_name == "core_local_activity":
            data = e.marker_recorded_event_attributes.details["data"].payloads[0].data
            types.append(json.loads(data)["activity_type"])
    return types


async def run_ladder_to_close(env: WorkflowEnvironment, *, state_with_record: bool = True,
                              changed_only: bool = True,
                              record_local: bool = True) -> tuple[RecordingActivities, WorkflowHistory]:
    """A commitment whose whole ladder fires, rung by rung, then is completed, verified and
    rated satisfied. ``state_with_record=False`` / ``changed_only=False`` /
    ``record_local=False``: the worker declines that patch, as a worker from before it
    (the shape of older histories)."""
    recorder = RecordingActivities()
    queue = f"q-{uuid.uuid4()}"
    start = await env.get_current_time()
    # One working day = 10 s: reminder at due − 100 s, 催办 due + 10 s, 督办 + 100 s, 会议督办
    # + 200 s, 文件通报 + 300 s; the first progress report is due 600 s after the start.
    due = start + timedelta(seconds=200)
    workflow_id = f"followup-state-with-record-{uuid.uuid4().hex[:6]}"

    def patches(patch: PatchActivationInput) -> bool:
        declined = {STATE_WITH_RECORD: not state_with_record, CHANGED_ATTRIBUTES_PATCH: not changed_only,
                    RECORD_LOCAL_PATCH: not record_local}
        return not declined.get(patch.patch_id, False)

    async with Worker(env.client, task_queue=queue, workflows=[FollowUpWorkflow], activities=_activities(recorder),
                      patch_activation_callback=patches):
        handle = await env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(commitment_id=3, department="教育体育局", due_at=due.isoformat(),
                          policy=seconds_policy(10).model_dump(mode="json"), started_at=start.isoformat()),
            id=workflow_id, task_queue=queue,
        )
        await env.sleep(timedelta(seconds=560))
        status = await handle.query(FollowUpWorkflow.status)
        assert status.level == 4 and status.fired == LADDER
        for n, (kind, extra, stage) in enumerate((("completion", {}, "completed"),
                                                   ("verification", {"passed": True}, "verified"),
                                                   ("satisfaction", {"rating": "satisfied"}, "closed")), 1):
            now = await env.get_current_time()
            await handle.execute_update(
                FollowUpWorkflow.apply_action, FollowUpAction(action_id=n, kind=kind, at=now.isoformat(), **extra)
            )
            # One action at a time: the next waits until this one's state is mirrored (two
            # actions during one sync would be mirrored together, one sync fewer).
            for _ in range(200):
                if recorder.mirrored[-1]["status"] == stage:
                    break
                await asyncio.sleep(0.01)
        assert (await handle.result()).stage == FollowUpStage.CLOSED
        return recorder, await handle.fetch_history()


def _workflow_tasks(history: WorkflowHistory) -> int:
    return sum(1 for e in history.events if e.HasField("workflow_task_completed_event_attributes"))


async def test_a_rung_is_one_activity_that_records_it_with_the_state_it_leaves(env: WorkflowEnvironment) -> None:
    """state-with-record-v1: each rung's record carries the commitment's state, evaluation
    stores both at once, and no separate state sync follows a rung (it used to: two
    activities and three workflow tasks per rung)."""
    recorder, history = await run_ladder_to_close(env)
    records = list(recorder.escalations.values())
    assert [r["step"] for r in records] == LADDER
    # Each record carries the state the rung leaves: open, at the rung's level.
    assert [(r["state"]["status"], r["state"]["escalation_level"]) for r in records] == [
        ("open", level) for level in range(5)
    ]
    assert all(r["state"]["commitment_id"] == 3 for r in records)
    # Synced apart only when the state changed otherwise (the start; completion,
    # verification, closing), never after a rung: before the patch each record was
    # followed by a sync_commitment_state.
    assert _scheduled(history) == ["sync_commitment_state", "plan_follow_up", *["sync_commitment_state"] * 3]
    assert _recorded_locally(history) == ["record_escalation"] * 5  # rung-record-local-v1
    # What evaluation ends up with is the workflow's own final state.
    assert [(m["status"], m["escalation_level"]) for m in recorder.mirrored] == [
        ("open", 0), ("open", 0), ("open", 1), ("open", 2), ("open", 3), ("open", 4),
        ("completed", 4), ("verified", 4), ("closed", 4),
    ]
    await Replayer(workflows=[FollowUpWorkflow]).replay_workflow(history)
    if os.environ.get("XIESHANG_RECORD_HISTORIES"):
        (HISTORIES / "followup_state_with_record.json").write_text(history.to_json())


def _visible(history: WorkflowHistory) -> tuple[list[dict[str, bytes]], dict[str, bytes]]:
    """Each upsert's attributes (encoded values) in order, and the attributes at the end
    (those given at the start, then every upsert over them)."""
    first = history.events[0].workflow_execution_started_event_attributes
    state = {k: v.data for k, v in first.search_attributes.indexed_fields.items()}
    upserts = []
    for event in history.events:
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            upserts.append({k: v.data for k, v in fields.items()})
            state.update(upserts[-1])
    return upserts, state


async def test_only_the_search_attributes_that_changed_are_upserted(env: WorkflowEnvironment) -> None:
    """search-attributes-changed-only-v1: a turn upserts what changed and nothing when
    nothing did (the reminder: same level, not yet overdue), and operators see the same
    attributes in the end as when every turn upserted all of them."""
    _, new_history = await run_ladder_to_close(env)
    _, old_history = await run_ladder_to_close(env, changed_only=False)
    new_upserts, new_end = _visible(new_history)
    old_upserts, old_end = _visible(old_history)
    def unchanged(history: WorkflowHistory, upserts: list[dict[str, bytes]]) -> int:
        """How many upserted values the workflow showed already."""
        fields = history.events[0].workflow_execution_started_event_attributes.search_attributes.indexed_fields
        seen = {k: v.data for k, v in fields.items()}
        count = 0
        for upsert in upserts:
            assert upsert
            count += sum(seen.get(k) == v for k, v in upsert.items())
            seen.update(upsert)
        return count

    # Before: every attribute at every turn, most of them unchanged; now never one.
    assert unchanged(old_history, old_upserts) > 20
    assert unchanged(new_history, new_upserts) == 0
    assert len(new_upserts) < len(old_upserts)
    assert sum(len(u) for u in new_upserts) < sum(len(u) for u in old_upserts) / 2
    # The same in the end, but for the patches the runs took and the due date (each run
    # starts at its own time).
    def shown(end: dict[str, bytes]) -> dict[str, bytes]:
        return {k: v for k, v in end.items() if k not in ("TemporalChangeVersion", "DueTime")}

    assert shown(new_end) == shown(old_end) and "DueTime" in new_end
    for history in (new_history, old_history):
        await Replayer(workflows=[FollowUpWorkflow]).replay_workflow(history)


async def test_before_the_patch_every_rung_was_followed_by_a_state_sync(env: WorkflowEnvironment) -> None:
    """The same ladder on the old shape (the patch declined): a sync after every record,
    one workflow task more per rung; what evaluation ends up with is the same."""
    new_recorder, new_history = await run_ladder_to_close(env)
    old_recorder, old_history = await run_ladder_to_close(env, state_with_record=False, record_local=False)
    assert _scheduled(old_history) == [
        "sync_commitment_state", "plan_follow_up", *["record_escalation", "sync_commitment_state"] * 5,
        *["sync_commitment_state"] * 4,  # completion, verification, closing, and once more on leaving the loop
    ]
    assert all("state" not in r for r in old_recorder.escalations.values())
    assert _workflow_tasks(old_history) - _workflow_tasks(new_history) >= 5
    def shape(state: dict) -> tuple:
        return state["status"], state["escalation_level"], state["reopenings"], state["satisfaction"]

    assert shape(old_recorder.mirrored[-1]) == shape(new_recorder.mirrored[-1]) == ("closed", 4, 0, "satisfied")
    await Replayer(workflows=[FollowUpWorkflow]).replay_workflow(old_history)


async def test_a_rung_is_recorded_in_the_workflow_task_its_timer_woke(env: WorkflowEnvironment) -> None:
    """rung-record-local-v1: the record runs as a local activity, in the workflow task the
    rung's timer woke; before, it was an activity task between two workflow tasks. The
    same records reach evaluation with the same states; the run before the patch (its
    record an activity) and the run after it both replay."""
    new_recorder, new_history = await run_ladder_to_close(env)
    old_recorder, old_history = await run_ladder_to_close(env, record_local=False)
    assert _scheduled(old_history) == [
        "sync_commitment_state", "plan_follow_up", *["record_escalation"] * 5, *["sync_commitment_state"] * 3,
    ]
    assert _recorded_locally(old_history) == []
    assert _recorded_locally(new_history) == ["record_escalation"] * 5
    assert "record_escalation" not in _scheduled(new_history)
    # Per rung one workflow task fewer, and about five history events (an activity's
    # three and a workflow task's three, less the record's marker).
    assert _workflow_tasks(old_history) - _workflow_tasks(new_history) >= 5
    assert len(old_history.events) - len(new_history.events) >= 4 * 5

    def records(recorder: RecordingActivities) -> list[tuple]:
        return [(r["event_key"], r["step"], r["level"], r["generation"], r["planned_at"] is not None,
                 r["state"]["status"], r["state"]["escalation_level"]) for r in recorder.escalations.values()]

    assert records(new_recorder) == records(old_recorder) and len(records(new_recorder)) == 5
    assert [m["status"] for m in new_recorder.mirrored] == [m["status"] for m in old_recorder.mirrored]
    for history in (new_history, old_history):
        await Replayer(workflows=[FollowUpWorkflow]).replay_workflow(history)
    if os.environ.get("XIESHANG_RECORD_HISTORIES"):
        (HISTORIES / "followup_record_local.json").write_text(new_history.to_json())
