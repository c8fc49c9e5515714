"""Activities: the only place workflows reach the services, always over HTTP.

Every activity that writes sends an idempotency key, so a retry after a lost answer
records nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.service_client import ServiceCallError, ServiceClient
from services.common.settings import ServiceName


@dataclass
class RecordEventInput:
    event_key: str  # idempotency key: the same key is recorded once
    kind: str
    topic_id: int
    occurred_at: str  # ISO 8601, from workflow.now()
    detail: dict[str, Any] = field(default_factory=dict)


class ConsultationActivities:
    def __init__(self, services: ServiceClient) -> None:
        self._services = services

    async def _post(self, service: ServiceName, path: str, body: Any, idempotency_key: str) -> Any:
        try:
            return await self._services.post_json(service, path, body, idempotency_key=idempotency_key)
        except ServiceCallError as exc:
            # A request the service refuses will be refused again: fail fast so the
            # operator sees it, instead of retrying forever.
            raise ApplicationError(str(exc), type="ServiceRefused", non_retryable=not exc.retryable) from exc

    @activity.defn
    async def record_consultation_event(self, params: RecordEventInput) -> int:
        """Record a consultation event in evaluation; returns its id there."""
        body = await self._post(
            "evaluation",
            "/events",
            {
                "event_key": params.event_key,
                "kind": params.kind,
                "topic_id": params.topic_id,
                "occurred_at": params.occurred_at,
                "detail": params.detail,
            },
            idempotency_key=params.event_key,
        )
        return int(body["id"])
