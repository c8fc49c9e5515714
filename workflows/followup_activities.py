"""Activities of FollowUpWorkflow: deadline arithmetic and records in evaluation.

Planning runs here, not in the workflow, because it reads the calendar package and the
official schedules staff loaded into evaluation: a replay must not depend on either.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.deadlines.escalation_policy import (
    EscalationPolicy,
    decide_after_unsatisfied,
    due_deadline,
    next_progress_report_due,
    plan_ladder,
)
from services.common.deadlines.working_days import OfficialCalendar, OfficialSchedule
from services.common.service_client import ServiceCallError, ServiceClient

from .followup_types import (
    CommitmentState,
    EscalationRecord,
    FollowUpPlan,
    PlannedStepData,
    PlanRequest,
    ReopenDecision,
    ReopenRequest,
)
from .telemetry import record_escalation_fired


class FollowUpActivities:
    def __init__(self, services: ServiceClient) -> None:
        self._services = services

    async def load_calendar(self) -> OfficialCalendar:
        """The official calendar with the schedules staff loaded into evaluation."""
        schedules = await self._services.get_json("evaluation", "/calendar/schedules")
        return OfficialCalendar([OfficialSchedule.model_validate(s) for s in schedules["items"]])

    async def send(self, method: str, path: str, body: Any, key: str | None) -> Any:
        """A write to evaluation, carrying its idempotency key (None: the body carries
        one that evaluation keeps the write by)."""
        try:
            return await self._services.request("evaluation", method, path, json=body, idempotency_key=key)
        except ServiceCallError as exc:
            raise ApplicationError(str(exc), type="ServiceRefused", non_retryable=not exc.retryable) from exc

    @activity.defn
    async def plan_follow_up(self, request: PlanRequest) -> FollowUpPlan:
        policy = EscalationPolicy.model_validate(request.policy)
        calendar = await self.load_calendar()
        due = datetime.fromisoformat(request.due_at)
        steps = plan_ladder(due, policy, calendar)
        # A due date on a day off moves to the end of the next working day.
        due_at = due_deadline(due, policy, calendar).at
        progress = next_progress_report_due(datetime.fromisoformat(request.progress_since), policy, calendar)
        return FollowUpPlan(
            due_at=due_at.isoformat(),
            steps=[
                PlannedStepData(
                    name=str(s.name), level=s.level, fire_at=s.fire_at.isoformat(), summary=s.summary,
                    provisional=s.provisional,
                )
                for s in steps
            ],
            next_progress_due=progress.at.isoformat(),
            next_progress_summary=progress.summary,
            provisional=any(s.provisional for s in steps) or due_deadline(due, policy, calendar).provisional,
            progress_provisional=progress.provisional,
        )

    @activity.defn
    async def decide_reopen(self, request: ReopenRequest) -> ReopenDecision:
        policy = EscalationPolicy.model_validate(request.policy)
        calendar = await self.load_calendar()
        rated_at = datetime.fromisoformat(request.rated_at)
        decision = decide_after_unsatisfied(request.reopenings_so_far, rated_at, policy, calendar)
        if decision.new_due is not None:
            return ReopenDecision(action=decision.action, new_due_at=decision.new_due.at.isoformat(), summary=decision.summary)
        # At the top of the ladder the department must still act: it gets the same
        # handling period as a reopening.
        period = decide_after_unsatisfied(0, rated_at, policy.model_copy(update={"max_reopenings": 1}), calendar)
        assert period.new_due is not None
        return ReopenDecision(action=decision.action, new_due_at=period.new_due.at.isoformat(), summary=decision.summary)

    @activity.defn
    async def record_escalation(self, record: EscalationRecord) -> int:
        body = dataclasses.asdict(record)
        if record.state is None:
            del body["state"]  # a record from before state-with-record-v1: the state syncs apart
        # No Idempotency-Key: evaluation stores a record once per event_key and applies its
        # state only with the record it creates (a retry gets the stored event back, 200),
        # so the request guard's key would be a second, redundant one: its reservation and
        # stored answer were a third of the commits of a rung.
        body = await self.send("POST", f"/commitments/{record.commitment_id}/escalation-events", body, None)
        record_escalation_fired(record.level, record.step, record.planned_at, record.fired_at)
        return int(body["id"])

    @activity.defn
    async def sync_commitment_state(self, state: CommitmentState) -> None:
        # The key names this exact state (the workflow's state_key leaves out when and how
        # it closed): a retry replays, a new state is a new request, never a reused key.
        body = state.__dict__
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
        await self.send("PUT", f"/commitments/{state.commitment_id}/state", body, f"state-{state.commitment_id}-{digest}")
