"""ServiceClient with several replicas of a service: round-robin, failover only when
nothing was sent (the connection could not be made)."""

from __future__ import annotations

import secrets

import httpx
import pytest

from services.common.service_client import ServiceCallError, ServiceClient
from services.common.settings import Settings

A, B = "http://127.0.0.1:1", "http://127.0.0.1:2"


def client(handler) -> ServiceClient:
    settings = Settings(talent_url=f"{A}, {B}/", jwt_secret=secrets.token_urlsafe(32))
    return ServiceClient(settings, transport=httpx.MockTransport(handler))


def test_urls_are_split_and_the_first_is_the_service_url() -> None:
    settings = Settings(talent_url=f"{A}, {B}/")
    assert settings.service_urls("talent") == [A, B]
    assert settings.service_url("talent") == A
    assert Settings().service_urls("intake") == ["http://127.0.0.1:8001"]


async def test_requests_take_turns_between_replicas() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.scheme}://{request.url.host}:{request.url.port}")
        return httpx.Response(200, json={"ok": True})

    async with client(handler) as services:
        for _ in range(4):
            assert await services.get_json("talent", "/people/1") == {"ok": True}
    assert seen == [A, B, A, B]


async def test_a_replica_that_refuses_connections_is_skipped() -> None:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.port)
        if request.url.port == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json={"id": 7})

    async with client(handler) as services:
        assert await services.post_json("talent", "/draws", {}, idempotency_key="k") == {"id": 7}
        assert await services.post_json("talent", "/draws", {}, idempotency_key="k") == {"id": 7}
    assert seen == [1, 2, 2]


async def test_no_failover_once_the_request_may_have_been_received() -> None:
    calls: list[int] = []

    def cut(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.port)
        raise httpx.RemoteProtocolError("server disconnected", request=request)

    async with client(cut) as services:
        with pytest.raises(httpx.RemoteProtocolError):
            await services.post_json("talent", "/draws", {})
    assert calls == [1]

    def unavailable(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.port)
        return httpx.Response(503, json={"title": "unavailable"})

    async with client(unavailable) as services:
        with pytest.raises(ServiceCallError) as raised:
            await services.post_json("talent", "/draws", {})
    assert raised.value.status == 503 and calls == [1, 1]


async def test_all_replicas_down_raises_the_connect_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client(handler) as services:
        with pytest.raises(httpx.ConnectError):
            await services.get_json("talent", "/people/1")


async def test_idle_connections_are_dropped_before_a_server_would_close_them() -> None:
    """A connection idle for KEEPALIVE_EXPIRY_S is not reused: a new one is opened. The
    servers (uvicorn) close idle connections after 5 s; reusing one at that instant
    fails a request that was already sent (httpx.ReadError)."""
    import asyncio

    import uvicorn

    from services.common.service_client import KEEPALIVE_EXPIRY_S

    assert KEEPALIVE_EXPIRY_S < uvicorn.Config("services.intake.main:app").timeout_keep_alive
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    server = await asyncio.start_server(lambda r, w: asyncio.ensure_future(_quietly(serve(r, w))), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(talent_url=f"http://127.0.0.1:{port}", jwt_secret=secrets.token_urlsafe(32))
    async with server, ServiceClient(settings) as services:
        await services.get_json("talent", "/people/1")
        await services.get_json("talent", "/people/1")
        assert connections == 1  # reused while fresh
        await asyncio.sleep(KEEPALIVE_EXPIRY_S + 0.3)
        await services.get_json("talent", "/people/1")
        assert connections == 2  # the idle one was dropped by the client, not reused


async def _quietly(coroutine) -> None:
    try:
        await coroutine
    except Exception:  # noqa: BLE001 - the client closing its connection ends the handler
        pass
