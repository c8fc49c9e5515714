"""Needs attention (待处理): how a workflow stops on an error no retry can fix, instead of
ending Failed.

Every activity of ConsultationWorkflow and FollowUpWorkflow runs through
:meth:`AttentionMixin._step` (behind ``workflow.patched(PATCH)``):

1. the activity runs with a **bounded** retry policy (:data:`BOUNDED`): a transient error
   (a service down, a timeout) is retried for about a quarter of an hour, never forever;
2. when it fails for good — a 4xx from a service (``ServiceRefused``, non-retryable), or
   the retries are spent — the workflow records *which step* failed and *why*, sets
   the search attribute ``NeedsAttention`` to the step's name (operators find every
   such run with ``NeedsAttention IS NOT NULL``), shows it in its status query and its
   current details, and sends one notice to the office (evaluation's outbox);
3. it then waits, durably, for the ``resume`` update that staff send once they have
   fixed the cause (amended the research report, extended the pool...); the step is
   then run again, built afresh from the workflow's state (an amendment applies).

The reason is a service's problem detail (vocabulary values, counts, ids): no
personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeout

with workflow.unsafe.imports_passed_through():
    from services.common.search_attributes import NEEDS_ATTENTION

PATCH = "needs-attention-v1"
REASON_MAX = 300

#: ~15 minutes of retries (1, 2, 4, 8, 16, then every 30 s), then needs attention.
BOUNDED: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=32),
}
#: The same retries for a local activity. Back-offs over 2 s wait on a durable timer
#: rather than inside a workflow task kept open by heartbeats.
BOUNDED_LOCAL: dict[str, Any] = {**BOUNDED, "local_retry_threshold": timedelta(seconds=2)}


@dataclass
class Attention:
    """What a workflow waiting for staff shows: the failed step and the reason."""

    step: str
    reason: str
    since: str  # ISO 8601
    episode: int = 1


@dataclass
class ResumeRequest:
    """Staff fixed the cause; run the failed step again. ``resumed_by`` is a role, not a
    name (it goes into the workflow's history)."""

    resumed_by: str = "staff"


def reason_of(error: BaseException) -> str:
    """The innermost message of an activity failure (a service's problem detail, or the
    retry state when the retries ran out)."""
    cause: BaseException | None = error
    message = ""
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.message:
            message = cause.message
        elif str(cause):
            message = message or str(cause)
        cause = cause.__cause__
    if isinstance(error, ActivityError) and error.retry_state is not None:
        state = error.retry_state.name.lower()
        if state != "non_retryable_failure":
            message = f"{message} (retries ended: {state})"
    return message[:REASON_MAX] or type(error).__name__


def local_reason_of(error: ApplicationError | TemporalTimeout) -> str:
    """:func:`reason_of` for a local activity's failure: a retryable failure that reached
    the workflow spent its attempts (the bounded policy has no overall timeout)."""
    message = reason_of(error)
    if isinstance(error, ApplicationError) and not error.non_retryable:
        message = f"{message} (retries ended: maximum_attempts_reached)"
    return message[:REASON_MAX]


class AttentionMixin:
    """Shared by both workflows; each provides ``_notify_attention`` and calls
    ``_attention_init`` in its ``__init__``."""

    def _attention_init(self) -> None:
        self._attention: Attention | None = None
        self._attention_episodes = 0
        self._resumed = False

    async def _step(self, name: str, activity: Any, make_arg: Callable[[], Any], *, summary: str,
                    legacy: dict[str, Any], local: bool = False) -> Any:
        """Run one activity; on a failure no retry fixes, wait for staff (see module).
        ``legacy`` are the options runs from before the patch used. ``local``: run it as
        a local activity (in the workflow's own task, no activity task on the server);
        only behind a patch of the caller's, since it changes the history."""
        if not workflow.patched(PATCH):
            return await workflow.execute_activity_method(activity, make_arg(), summary=summary, **legacy)
        while True:
            try:
                if local:
                    return await workflow.execute_local_activity_method(activity, make_arg(), summary=summary,
                                                                        **BOUNDED_LOCAL)
                return await workflow.execute_activity_method(activity, make_arg(), summary=summary, **BOUNDED)
            except ActivityError as error:
                await self._wait_for_staff(name, reason_of(error))
            except (ApplicationError, TemporalTimeout) as error:
                # How this SDK raises a local activity's last failure: the failure
                # itself, not wrapped in an ActivityError (and no retry state).
                if not local:
                    raise
                await self._wait_for_staff(name, local_reason_of(error))

    async def _wait_for_staff(self, step: str, reason: str) -> None:
        self._attention_episodes += 1
        self._attention = Attention(step=step, reason=reason, since=workflow.now().isoformat(),
                                    episode=self._attention_episodes)
        self._resumed = False
        workflow.upsert_search_attributes([NEEDS_ATTENTION.value_set(step)])
        self._attention_changed()
        workflow.logger.warning("needs attention at %s: %s", step, reason)
        if step != "send_notice":
            try:
                await self._notify_attention(self._attention)
            except ActivityError as error:  # evaluation unreachable: the attribute still shows it
                workflow.logger.warning("needs-attention notice not sent: %s", reason_of(error))
        await workflow.wait_condition(lambda: self._resumed)
        self._attention = None
        workflow.upsert_search_attributes([NEEDS_ATTENTION.value_unset()])
        self._attention_changed()

    def _resume(self, request: ResumeRequest) -> None:
        self._resumed = True

    def _validate_resume(self) -> None:
        if self._attention is None:
            raise ValueError("nothing waits for attention: resume applies only to a run that needs attention")

    # Provided by each workflow.
    async def _notify_attention(self, attention: Attention) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _attention_changed(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
