"""Prometheus metrics of the services: ``GET /metrics`` on each one.

What every service exports (all labelled by ``service``):

* ``xieshang_http_requests_total{method, route, status}`` and
  ``xieshang_http_request_duration_seconds{method, route}``: the route is the *template*
  (``/topics/{topic_id}``), never the concrete path, so ids and free text stay out of the
  label set and its size stays bounded; a request that matched no route counts as
  ``route="<unmatched>"``.
* what a service adds itself: gauges refreshed just before each scrape by the
  ``refreshers`` a service registers (evaluation's outbox backlog and the age of its
  oldest pending notification), histograms it observes (talent's draw durations).

The metrics live in the process's default registry: one process serves one service, and
in-process tests that build several apps share the metric objects (the ``service`` label
tells them apart). ``/metrics`` itself is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

# Buckets from 5 ms (a cached read) to 30 s (a draw over 10,000 people).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "xieshang_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "xieshang_http_request_duration_seconds",
    "Time from receiving a request to sending its last body byte, by route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_BACKLOG = Gauge(
    "xieshang_outbox_backlog",
    "Notifications not yet delivered to every endpoint (status pending).",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "xieshang_outbox_oldest_pending_age_seconds",
    "Age of the oldest pending notification (0 when none is pending).",
    ["service"],
)
DRAW_DURATION = Histogram(
    "xieshang_draw_duration_seconds",
    "Time to build a draw's portfolio (the CPU-bound part of POST /draws and replacements).",
    ["service", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)

# Refreshes gauges just before a scrape: (app) -> None. Failures are logged, not raised.
Refresher = Callable[[FastAPI], Awaitable[None]]

UNMATCHED = "<unmatched>"


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request by its route template.

    The route is known only after routing, so the template is read from the scope after
    the inner app returns (Starlette stores the matched route in ``scope["route"]``)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI, service: str, refreshers: list[Refresher] | None = None) -> None:
    """Add the request middleware and ``GET /metrics`` to a service app."""
    app.add_middleware(RequestMetrics, service=service)
    app.state.metric_refreshers = list(refreshers or [])
    router = APIRouter(tags=["health"])
    # Not in the OpenAPI document: a Prometheus scrape in its own text format, not part of the API.

    @router.get("/metrics", summary="Prometheus metrics of this service", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        for refresh in request.app.state.metric_refreshers:
            try:
                await refresh(request.app)
            except Exception as exc:  # noqa: BLE001 - a metric must never take the endpoint down
                log.warning("metrics.refresh_failed", refresher=getattr(refresh, "__name__", "?"),
                            error=type(exc).__name__)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
