"""One mapping from Temporal client errors to HTTP answers, for every workflow client.

The workflow clients (``services/intake/consultation_client.py`` for ConsultationWorkflow,
``services/evaluation/follow_up_client.py`` for FollowUpWorkflow) send every update,
query and signal through :func:`mapped` (by a :class:`MappedHandle`), so a route never
sees a Temporal exception and every service answers the same way:

- the workflow's validator refused the update → 409 ``WorkflowRefused`` (nothing changed);
- the workflow has already ended → 409 ``WorkflowEnded`` naming the stage it ended in;
- Temporal cannot be reached, or the call timed out (``RPCError``,
  ``RPCTimeoutOrCancelledError`` incl. ``WorkflowUpdateRPCTimeoutOrCancelledError``) →
  503 ``TemporalUnavailable`` with ``Retry-After`` and the fields ``stored`` (the record
  is committed) and ``will_be_delivered`` (a reconciler delivers it: retrying is
  harmless but not needed).

A start is mapped otherwise (:func:`start_or_defer`): Temporal not answering defers it
to the service's reconciler, and the caller answers from its stored record.

This module knows no workflow: the clients pass the search attribute that holds the
stage, so ``services/common`` imports nothing from ``workflows``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from .problems import PROBLEM_BASE, Problem

log = structlog.get_logger()

T = TypeVar("T")

RETRY_AFTER_SECONDS = 5


class WorkflowRefused(Problem):
    """409: the workflow's validator refused the update; nothing changed."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(409, "Action refused", f"The {what} refused it: {reason}.",
                         type_=PROBLEM_BASE + "action-refused", reason=reason)


class WorkflowEnded(Problem):
    """409: the workflow has ended; no update can reach it any more."""

    def __init__(self, what: str, stage: str) -> None:
        super().__init__(409, "Workflow ended", f"The {what} has ended (stage {stage}); it takes no more actions.",
                         type_=PROBLEM_BASE + "workflow-ended", stage=stage)
        self.stage = stage


class TemporalUnavailable(Problem):
    """503 with Retry-After: Temporal did not answer. Says whether the record is stored
    (and will be delivered by a reconciler) so the caller knows whether to retry."""

    def __init__(self, what: str, *, stored: bool, will_be_delivered: bool | None = None, **extra: object) -> None:
        delivered = stored if will_be_delivered is None else will_be_delivered
        if stored and delivered:
            detail = f"The {what} did not answer. Your record is stored and will be delivered; no need to resend."
        elif stored:
            detail = f"The {what} did not answer. Your record is stored; retry to deliver it."
        else:
            detail = f"The {what} did not answer; nothing was stored. Retry shortly."
        super().__init__(503, "Temporal unavailable", detail, type_=PROBLEM_BASE + "temporal-unavailable",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                         stored=stored, will_be_delivered=delivered, **extra)
        self.stored = stored


def refusal_reason(exc: WorkflowUpdateFailedError) -> str:
    cause = exc.cause
    return str(getattr(cause, "message", None) or cause or exc)


async def ended_stage(handle: WorkflowHandle, stage_key: SearchAttributeKey[str]) -> str | None:
    """The stage a workflow ended in, or None while it runs (or cannot be described)."""
    try:
        description = await handle.describe()
    except (RPCError, RPCTimeoutOrCancelledError):
        return None
    if description.status in (None, WorkflowExecutionStatus.RUNNING):
        return None
    stage = description.typed_search_attributes.get(stage_key)
    status = description.status.name.lower()
    return stage if stage and status == "completed" else f"{stage or 'unknown'} ({status})"


async def mapped(
    call: Callable[[], Awaitable[T]],
    *,
    handle: WorkflowHandle | None,
    what: str,
    stage_key: SearchAttributeKey[str],
    stored: bool,
    will_be_delivered: bool | None = None,
) -> T:
    """Run one Temporal call and translate its errors (see the module docstring).

    ``handle`` None means no Temporal client (the service could not connect)."""
    if handle is None:
        raise TemporalUnavailable(what, stored=stored, will_be_delivered=will_be_delivered)
    try:
        return await call()
    except WorkflowUpdateFailedError as exc:
        raise WorkflowRefused(what, refusal_reason(exc)) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            stage = await ended_stage(handle, stage_key)
            if stage is not None:
                raise WorkflowEnded(what, stage) from exc
            raise Problem(409, "No workflow", f"The {what} has not started yet; retry shortly.",
                          type_=PROBLEM_BASE + "workflow-not-started", headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                          stored=stored, will_be_delivered=stored if will_be_delivered is None else will_be_delivered,
                          ) from exc
        raise TemporalUnavailable(what, stored=stored, will_be_delivered=will_be_delivered) from exc
    except RPCTimeoutOrCancelledError as exc:  # incl. WorkflowUpdateRPCTimeoutOrCancelledError
        raise TemporalUnavailable(what, stored=stored, will_be_delivered=will_be_delivered) from exc


@dataclass(frozen=True)
class MappedHandle:
    """One workflow as a client module calls it: every update, query and signal goes
    through :func:`mapped`. ``handle`` None: Temporal could not be reached (each call 503)."""

    handle: WorkflowHandle | None
    what: str
    stage_key: SearchAttributeKey[str]

    async def update(
        self, update: Any, arg: Any, *, update_id: str, timeout: timedelta, stored: bool,
        will_be_delivered: bool | None = None, result_type: type | None = None,
    ) -> Any:
        """Send one update (the same ``update_id`` on every attempt: a re-sent update is
        the same update); ``stored`` says whether the caller's record is committed."""
        handle = self.handle
        return await mapped(
            lambda: handle.execute_update(update, arg, id=update_id, result_type=result_type, rpc_timeout=timeout),
            handle=handle, what=self.what, stage_key=self.stage_key, stored=stored,
            will_be_delivered=will_be_delivered,
        )

    async def query(self, query: Any, *, result_type: type[T], timeout: timedelta) -> T:
        """Ask the workflow; asking stores nothing, so a 503 says retry."""
        handle = self.handle
        return await mapped(
            lambda: handle.query(query, result_type=result_type, rpc_timeout=timeout),
            handle=handle, what=self.what, stage_key=self.stage_key, stored=False, will_be_delivered=False,
        )

    async def signal(self, signal: Any, *, stored: bool) -> None:
        handle = self.handle
        await mapped(lambda: handle.signal(signal), handle=handle, what=self.what, stage_key=self.stage_key,
                     stored=stored)


async def start_or_defer(
    temporal: Client,
    run: Any,
    arg: Any,
    *,
    workflow_id: str,
    task_queue: str,
    search_attributes: list[SearchAttributePair[Any]],
    static_summary: str,
    timeout: timedelta,
    deferred_event: str,
    **log_fields: object,
) -> bool:
    """Start a workflow unless it runs already (idempotent by workflow id). True when it
    is known to run; False when Temporal does not answer: the start is logged as
    ``deferred_event`` and the reconciler starts it."""
    try:
        await temporal.start_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes(search_attributes),
            static_summary=static_summary,
            rpc_timeout=timeout,
        )
    except WorkflowAlreadyStartedError:
        pass  # a closed run with this id exists: it was started before
    except (RPCError, RPCTimeoutOrCancelledError) as exc:
        log.warning(deferred_event, **log_fields, error=type(exc).__name__)
        return False
    return True
