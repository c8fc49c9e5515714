"""The Temporal client each service shares, connected lazily.

A service starts and answers /healthz even while Temporal is down; /readyz and the
endpoints that need Temporal report it until the connection succeeds.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from temporalio.client import Client
from temporalio.runtime import Runtime

from .codec import data_converter
from .problems import Problem
from .settings import Settings
from .tracing import temporal_interceptors
from .workflow_errors import TemporalUnavailable


class TemporalConnection:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await connect(self._settings)
                except Exception as exc:  # connection refused, DNS, TLS...
                    # The one 503 of services/common/workflow_errors.py: Retry-After, and
                    # nothing stored (callers that store first catch it and say so).
                    raise TemporalUnavailable(f"Temporal server at {self._settings.temporal_address}",
                                              stored=False) from exc
        return self._client

    async def check(self) -> None:
        client = await self.client()
        await client.service_client.check_health()


async def temporal_or_none(request: Request) -> Client | None:
    """The service's client, or None while Temporal cannot be reached: a route that stores
    its record first must not fail because Temporal is down; the service's reconciler
    starts or delivers what it stored once Temporal is back."""
    try:
        return await request.app.state.temporal.client()
    except Problem:
        return None


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client whose payloads are encrypted with the project's keys (codec.py), with the
    project's interceptors (tracing when on); the worker passes its metrics runtime."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        interceptors=temporal_interceptors(settings),
        runtime=runtime,
        data_converter=data_converter(settings),
    )
