"""OpenTelemetry traces across HTTP → Temporal → activities → HTTP, off by default.

``XIESHANG_TRACING_EXPORTER`` chooses where spans go: ``none`` (the default: nothing is
instrumented, nothing costs), ``console`` (spans printed as JSON lines) or ``otlp``
(OTLP over HTTP to ``XIESHANG_TRACING_OTLP_ENDPOINT``, e.g. an OpenTelemetry Collector,
Jaeger or Tempo). When on, in this order:

1. each process installs one tracer provider (:func:`configure_tracing`), named after
   the service (``xieshang-intake``, ``xieshang-worker``...); a provider the process
   already has (an embedding application, a test's in-memory exporter) is kept;
2. FastAPI apps are instrumented (:func:`instrument_app`): a request's span continues the
   caller's ``traceparent``;
3. the Temporal client carries the SDK's ``TracingInterceptor`` (:func:`temporal_interceptors`):
   starting, signalling or updating a workflow writes the span context into the
   workflow's headers, and the worker (whose client carries the same interceptor)
   continues it in the workflow and in each activity;
4. the httpx clients of activities are instrumented (:func:`instrument_httpx_client`),
   so a service call from an activity sends ``traceparent`` to the next service.

Span attributes are routes, workflow types and ids: never a request body.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

_lock = threading.Lock()
_configured = False


def tracing_enabled(settings: Settings) -> bool:
    return settings.tracing_exporter != "none"


def configure_tracing(settings: Settings, service: str) -> None:
    """Install the process's tracer provider once (no-op when tracing is off)."""
    global _configured
    if not tracing_enabled(settings):
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    with _lock:
        if _configured or isinstance(trace.get_tracer_provider(), TracerProvider):
            _configured = True
            return
        provider = TracerProvider(resource=Resource.create({"service.name": f"xieshang-{service}"}))
        if settings.tracing_exporter == "console":
            exporter: Any = ConsoleSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )

            exporter = OTLPSpanExporter(endpoint=settings.tracing_otlp_endpoint)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _configured = True


def instrument_app(app: FastAPI, settings: Settings) -> None:
    if not tracing_enabled(settings):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # /metrics and the probes are scraped every few seconds: no spans for them.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics,/healthz,/readyz")


def instrument_httpx_client(client: httpx.AsyncClient, settings: Settings) -> None:
    if not tracing_enabled(settings):
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client)


def temporal_interceptors(settings: Settings) -> list:
    """Client interceptors; a worker built on the client inherits them."""
    if not tracing_enabled(settings):
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]
