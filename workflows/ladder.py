"""The escalation ladder (督办阶梯) of one deadline: the rungs planned from a due date
(reminder, 催办, 督办, 会议督办, 文件通报), which of them fired in this generation, how
high it has climbed, and the wait for the next rung.

FollowUpWorkflow keeps one for the lead department's answer, CoHandlingWorkflow one for a
co-handler's opinion (会办意见). The ladder is workflow state, not a workflow: each of its
methods emits exactly what the two workflows emitted before it was shared (the plan
activity, the timer of the wait, a rung's record), in the same order, so the saved
histories replay unchanged. Imported passed through the sandbox, like ``attention``: it
holds no module state and calls only ``workflow`` APIs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from services.common.search_attributes import DUE_TIME, ESCALATION_LEVEL

    from .followup_activities import FollowUpActivities
    from .followup_types import (
        CoHandlingInput,
        CommitmentState,
        EscalationRecord,
        FollowUpInput,
        FollowUpPlan,
        PlannedStepData,
        PlanRequest,
    )

#: The activity options of runs from before needs-attention-v1 (``legacy`` of ``_step``).
LADDER_ACTIVITY: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}

#: How a ladder runs an activity: the workflow's ``AttentionMixin._step`` (waits for
#: staff on a failure no retry fixes).
RunStep = Callable[..., Awaitable[Any]]


#: Both ladders' workflows upsert only the search attributes whose value changed. Before,
#: every turn upserted all of them: a reminder (提醒) changes none (same level, not yet
#: overdue), yet cost an event, a visibility write and a transfer task on the server.
#: Runs from before upsert them all, as their histories show.
CHANGED_ATTRIBUTES_PATCH = "search-attributes-changed-only-v1"


#: A rung's record runs as a local activity: inside the workflow task its timer woke,
#: with no activity task on the server. A rung cost two workflow tasks and an activity
#: task; it now costs one workflow task, and about five history events fewer (the
#: record is a marker). The record is idempotent by its event key, so a local activity
#: run again after a worker died mid-task stores nothing twice. Runs from before record
#: with an activity, as their histories show.
RECORD_LOCAL_PATCH = "rung-record-local-v1"


def upsert_search_attributes(updates: list[SearchAttributeUpdate[Any]]) -> None:
    """Upsert ``updates`` (the workflow's visible state, all of it), or under
    ``CHANGED_ATTRIBUTES_PATCH`` those whose value differs from the workflow's own
    (``workflow.info()``: the SDK keeps it as upserted, and continue-as-new carries it)."""
    if not workflow.patched(CHANGED_ATTRIBUTES_PATCH):
        workflow.upsert_search_attributes(updates)
        return
    current = workflow.info().typed_search_attributes
    changed = [update for update in updates if current.get(update.key) != update.value]
    if changed:
        workflow.upsert_search_attributes(changed)


def instant(value: str) -> datetime:
    """An ISO 8601 time as the workflows keep them."""
    return datetime.fromisoformat(value)


async def wait_for_wake(wake: tuple[datetime, str] | None, changed: Callable[[], bool]) -> bool:
    """Wait for ``changed`` (an update or a signal changed the workflow) or, when ``wake``
    names an instant, until then: one durable timer with ``wake``'s summary. True when the
    instant came first (its rungs are due), False when something changed."""
    if wake is None:
        await workflow.wait_condition(changed)
        return False
    wake_at, summary = wake
    delay = max((wake_at - workflow.now()).total_seconds(), 0)
    try:
        await workflow.wait_condition(changed, timeout=delay, timeout_summary=summary)
    except TimeoutError:
        return True
    return False


class EscalationLadder:
    """One deadline's ladder. ``generation`` counts restarts (an extension, a
    reassignment, a reopening): a rung's record is keyed by it, so each rung is
    recorded once per generation."""

    def __init__(self, params: FollowUpInput | CoHandlingInput, run_step: RunStep) -> None:
        self.commitment_id = params.commitment_id
        self.policy = params.policy
        self.due_at = params.due_at
        self.generation = params.generation
        self.level = params.level
        self.fired = list(params.fired)
        self.plan: FollowUpPlan | None = None  # None: planned (again) on the next turn of the loop
        self._run_step = run_step

    def carried(self) -> dict[str, Any]:
        """What continue-as-new carries of the ladder (the plan is made again)."""
        return {"due_at": self.due_at, "generation": self.generation, "level": self.level, "fired": list(self.fired)}

    def search_attributes(self) -> list[Any]:
        """How high the ladder stands and its due date, for operators' filters."""
        return [ESCALATION_LEVEL.value_set(self.level), DUE_TIME.value_set(instant(self.due_at))]

    # ------------------------------------------------------------------ the rungs
    def next_rung(self) -> PlannedStepData | None:
        if self.plan is None:
            return None
        for rung in self.plan.steps:
            # The reminder (level 0) belongs before any escalation; higher rungs fire once each.
            if rung.name not in self.fired and (rung.level > self.level or rung.level == self.level == 0):
                return rung
        return None

    def next_wake(self) -> tuple[datetime, str] | None:
        """The next rung's instant and summary (the summary names its timer)."""
        rung = self.next_rung()
        return None if rung is None else (instant(rung.fire_at), rung.summary)

    def climb(self, rung: PlannedStepData) -> None:
        """A rung was recorded: it fired, and the ladder stands at least as high."""
        self.fired.append(rung.name)
        self.level = max(self.level, rung.level)

    def restart(self, new_due_at: str | None, *, level: int = 0) -> None:
        """An extension, a reassignment or a reopening: a new generation from the due
        date in force (or ``new_due_at``), from ``level`` (the bottom), planned again."""
        if new_due_at:
            self.due_at = new_due_at
        self.generation += 1
        self.fired = []
        self.level = level
        self.plan = None

    async def climb_due_rungs(self, now: datetime,
                              record_rung: Callable[[PlannedStepData], Awaitable[bool]]) -> None:
        """Record every rung whose instant is ``now`` or before, in order, each once.
        ``record_rung`` records one in evaluation and answers whether it still belongs to
        this ladder (False: a restart came while it was being recorded; stop there). An
        update may drop the plan meanwhile: then nothing more is due from it."""
        while (rung := self.next_rung()) is not None and instant(rung.fire_at) <= now:
            if not await record_rung(rung):
                break
            self.climb(rung)

    # ------------------------------------------------------------------ activities
    async def replan(self, step_name: str, *, summary: str, progress_since: Callable[[], str]) -> bool:
        """Plan the rungs from the due date in force (an activity: it reads the official
        calendar). True when the plan moved the due date (one on a day off moves to the
        end of the next working day). The request is built afresh on every try, from the
        ladder as it then stands."""
        self.plan = await self._run_step(
            step_name,
            FollowUpActivities.plan_follow_up,
            lambda: PlanRequest(commitment_id=self.commitment_id, due_at=self.due_at, policy=self.policy,
                                progress_since=progress_since()),
            summary=summary,
            legacy=LADDER_ACTIVITY,
        )
        moved = self.plan.due_at != self.due_at
        self.due_at = self.plan.due_at
        return moved

    async def record(self, event_key: str, *, step: str, level: int, planned_at: str, summary: str,
                     provisional: bool = False, activity_summary: str | None = None,
                     state: CommitmentState | None = None, co_handler_id: int | None = None) -> None:
        """Record a fired rung (or reminder) in evaluation, once per key (``event_key``,
        after ``commitment-<id>-``). ``state``: the commitment's state the rung leaves
        (the lead's ladder); ``co_handler_id``: whose ladder it is (a co-handler's).

        The record is built once, before the first try: a restart (an extension, a
        reassignment) that comes while a failed record waits for staff must not move the
        old round's rung into the new generation, where its key would take the new
        round's own record of that rung. Only the activity's argument changed from the
        runs recorded before (it was built again on every try), and replay does not
        compare arguments: the commands, and so the histories, are the same."""
        record = EscalationRecord(
            commitment_id=self.commitment_id, event_key=f"commitment-{self.commitment_id}-{event_key}",
            step=step, level=level, generation=self.generation, planned_at=planned_at,
            fired_at=workflow.now().isoformat(),
            summary=summary, provisional=provisional, co_handler_id=co_handler_id, state=state,
        )
        await self._run_step(
            "record_escalation",
            FollowUpActivities.record_escalation,
            lambda: record,
            summary=activity_summary or summary,
            legacy=LADDER_ACTIVITY,
            local=workflow.patched(RECORD_LOCAL_PATCH),
        )
