"""One trace from a topic's registration to its workflow's first activity and that
activity's call to evaluation: HTTP → Temporal → workflow → activity → HTTP.

Everything real but in one process (so one in-memory exporter sees every span): the
intake and evaluation apps served over ASGI on their own SQLite databases, a Temporal
dev server of its own, and the project's worker (its workflows, activities and client
interceptors) whose service calls go to the evaluation app in-process.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.auth import Role, mint_token
from services.common.migrate import upgrade
from services.common.service_app import create_service_app
from services.common.service_client import ServiceClient
from services.common.settings import Settings
from services.common.temporal import connect
from tests.workflow_env import dev_server_path, search_attribute_keys
from workflows.worker import WORKFLOWS, activities_for, worker_options


def in_memory_exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


class Hosts(httpx.AsyncBaseTransport):
    """Routes http://intake and http://evaluation to the in-process apps."""

    def __init__(self, apps: dict) -> None:
        self._transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transports[request.url.host].handle_async_request(request)


async def create_schema(url: str, service: str) -> None:
    # Alembic runs its own event loop: off this one.
    await asyncio.to_thread(upgrade, service, url)


async def test_one_trace_from_registration_to_the_first_activity_and_its_http_call(tmp_path: Path) -> None:
    exporter = in_memory_exporter()
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=dev_server_path(),
        search_attributes=search_attribute_keys(),
        dev_server_extra_args=["--log-level", "error"],
    ) as env:
        settings = Settings(
            data_dir=str(tmp_path),
            jwt_secret="t" * 40,
            intake_database_url=f"sqlite+aiosqlite:///{tmp_path}/intake.db",
            evaluation_database_url=f"sqlite+aiosqlite:///{tmp_path}/evaluation.db",
            intake_url="http://intake",
            evaluation_url="http://evaluation",
            temporal_address=env.client.service_client.config.target_host,
            temporal_task_queue=f"trace-{uuid.uuid4()}",
            tracing_exporter="console",  # on; the in-memory provider installed above is kept
            worker_metrics_port=0,
        )
        for service in ("intake", "evaluation"):
            await create_schema(settings.database_url(service), service)
        intake_main = importlib.import_module("services.intake.main")
        evaluation_main = importlib.import_module("services.evaluation.main")
        intake = create_service_app("intake", title="intake", description="", routers=[intake_main.topics_router],
                                    settings=settings)
        evaluation = create_service_app("evaluation", title="evaluation", description="",
                                        routers=[evaluation_main.events_router], settings=settings)
        client = await connect(settings)
        async with (
            intake.router.lifespan_context(intake),
            evaluation.router.lifespan_context(evaluation),
            ServiceClient(settings, transport=Hosts({"intake": intake, "evaluation": evaluation})) as services,
            Worker(client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS,
                   activities=activities_for(services), **worker_options(settings)),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=intake), base_url="http://intake") as http,
        ):
            clerk = {"Authorization": "Bearer " + mint_token(settings, role=Role.CLERK, subject="clerk-1")}
            created = await http.post(
                "/topics", json={"title": "学校门口交通安全", "content": "上下学高峰拥堵", "channel": "member_recommended"},
                headers=clerk,
            )
            assert created.status_code == 201, created.text
            spans = []
            for _ in range(150):  # the first activity's HTTP call lands within seconds
                spans = exporter.get_finished_spans()
                names = {s.name for s in spans}
                if {"RunActivity:record_consultation_event", "POST /events"} <= names:
                    break
                await asyncio.sleep(0.2)

    registration = next(s for s in spans if s.name.startswith("POST /topics") and s.kind == trace.SpanKind.SERVER)
    trace_id = registration.context.trace_id
    in_trace = {s.name for s in spans if s.context.trace_id == trace_id}
    assert {
        "StartWorkflow:ConsultationWorkflow",
        "RunWorkflow:ConsultationWorkflow",
        "StartActivity:record_consultation_event",
        "RunActivity:record_consultation_event",
    } <= in_trace, sorted(in_trace)
    # ...and the activity's call (httpx client span) reached evaluation within the same
    # trace (evaluation's request span; INTERNAL rather than SERVER only because both
    # apps share this process's context here).
    kinds = {(s.name, s.kind) for s in spans if s.context.trace_id == trace_id}
    assert ("POST", trace.SpanKind.CLIENT) in kinds and "POST /events" in in_trace, sorted(in_trace)
    # No request body in any span: the topic's title is nowhere in the attributes.
    for span in spans:
        assert not any("学校" in str(v) for v in (span.attributes or {}).values())
