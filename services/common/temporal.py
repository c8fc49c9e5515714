"""The Temporal client each service shares, connected lazily.

A service starts and answers /healthz even while Temporal is down; /readyz and the
endpoints that need Temporal report it until the connection succeeds.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.runtime import Runtime

from .problems import Problem
from .settings import Settings
from .tracing import temporal_interceptors


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
                    raise Problem(
                        503,
                        "Temporal unavailable",
                        f"Cannot reach Temporal at {self._settings.temporal_address}; retry shortly.",
                    ) from exc
        return self._client

    async def check(self) -> None:
        client = await self.client()
        await client.service_client.check_health()


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client with the project's interceptors (tracing when on); the worker passes
    its metrics runtime."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        interceptors=temporal_interceptors(settings),
        runtime=runtime,
    )
