"""HTTP between Xieshang processes, always carrying a service token.

A service may run as several replicas (``XIESHANG_<SERVICE>_URL`` a comma-separated
list, sharing one database): each request starts at the next replica in turn and fails
over to the others only when the connection could not be made, so nothing was sent and
trying elsewhere cannot do anything twice. Any other failure (an answer, a timeout, a
connection cut mid-request) is the caller's to retry: activities retry with the same
Idempotency-Key.
"""

from __future__ import annotations

import time
from typing import Any, Self

import httpx

from .auth import Role, mint_token
from .settings import ServiceName, Settings
from .tracing import instrument_httpx_client


class ServiceCallError(Exception):
    def __init__(self, service: str, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {service}{path} answered {status}: {body[:300]}")
        self.status = status
        self.body = body

    @property
    def retryable(self) -> bool:
        # 4xx means the request itself is wrong and will stay wrong; timeouts,
        # throttling, 5xx and a twin request still running under the same
        # Idempotency-Key (409 request-in-progress) may pass on a later try.
        in_progress = self.status == 409 and "request-in-progress" in self.body
        return self.status >= 500 or self.status in (408, 425, 429) or in_progress


#: Idle keep-alive connections are dropped after this long, well before a server closes
#: them (uvicorn: 5 s, httpx's own default too). With equal limits a request could go out
#: on a connection the server was closing at that instant and fail with ``ReadError``
#: after it was sent (one record in the 10,000 burst): retried, but an error in the logs.
KEEPALIVE_EXPIRY_S = 2.0


class ServiceClient:
    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(timeout=settings.http_timeout_seconds, transport=transport,
                                       limits=httpx.Limits(max_connections=100, max_keepalive_connections=20,
                                                           keepalive_expiry=KEEPALIVE_EXPIRY_S))
        instrument_httpx_client(self._http, settings)
        self._token = ""
        self._token_expires = 0.0
        self._next_replica: dict[str, int] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _bearer(self) -> str:
        # Renew well before expiry so a slow call never carries a stale token.
        if time.time() > self._token_expires - 300:
            ttl = self._settings.service_token_ttl_seconds
            self._token = mint_token(self._settings, role=Role.SERVICE, subject="xieshang-worker", ttl_seconds=ttl)
            self._token_expires = time.time() + ttl
        return self._token

    async def request(
        self,
        service: ServiceName,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = await self._send_to_a_replica(service, method, path, json=json, params=params, headers=headers)
        if response.status_code >= 400:
            raise ServiceCallError(service, method, path, response.status_code, response.text)
        return response.json() if response.content else None

    async def _send_to_a_replica(self, service: ServiceName, method: str, path: str, **kwargs: Any) -> httpx.Response:
        urls = self._settings.service_urls(service)
        first = self._next_replica.get(service, 0) % len(urls)
        self._next_replica[service] = first + 1
        for i in range(len(urls)):
            url = urls[(first + i) % len(urls)]
            try:
                return await self._http.request(method, url + path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if i == len(urls) - 1:
                    raise
        raise AssertionError("unreachable")

    async def post_json(self, service: ServiceName, path: str, body: Any, *, idempotency_key: str | None = None) -> Any:
        return await self.request(service, "POST", path, json=body, idempotency_key=idempotency_key)

    async def get_json(self, service: ServiceName, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return await self.request(service, "GET", path, params=params)
