"""``GET /metrics`` on each service: Prometheus text, requests counted by route template
(never the concrete path), evaluation's outbox gauges read from its database."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.db import create_engine, session_factory
from services.common.settings import SERVICE_NAMES


def samples(text: str, name: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_metrics_answers_and_counts_requests_by_route_template(service: str) -> None:
    app = importlib.import_module(f"services.{service}.main").app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/no/such/route/123")).status_code == 404
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    counted = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in samples(answer.text, "xieshang_http_requests_total")
        if s.labels["service"] == service
    }
    assert counted[("/healthz", "200")] >= 1
    assert counted[("<unmatched>", "404")] >= 1
    assert not any("123" in route for route, _ in counted), "concrete paths must not become labels"
    assert not any(route == "/metrics" for route, _ in counted)
    latency = samples(answer.text, "xieshang_http_request_duration_seconds_count")
    assert any(s.labels["service"] == service and s.labels["route"] == "/healthz" for s in latency)


async def test_intake_labels_a_parameterised_route_by_its_template() -> None:
    app = importlib.import_module("services.intake.main").app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        await client.get("/topics/98765")  # answered or not (no database here), it is counted
        text = (await client.get("/metrics")).text
    routes = {s.labels["route"] for s in samples(text, "xieshang_http_requests_total") if s.labels["service"] == "intake"}
    assert "/topics/{topic_id}" in routes and "/topics/98765" not in routes


async def test_evaluation_reports_its_outbox_backlog_and_oldest_age(tmp_path: Path) -> None:
    from datetime import timedelta

    from services.common.db import utcnow
    from services.evaluation.base import Base
    from services.evaluation.notifications.models import Notification

    app = importlib.import_module("services.evaluation.main").app
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/evaluation.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session:
        session.add(Notification(event_id="e-1", kind="escalation.urge", created_at=utcnow() - timedelta(minutes=5)))
        session.add(Notification(event_id="e-2", kind="escalation.urge"))
        session.add(Notification(event_id="e-3", kind="escalation.urge", status="delivered"))
        await session.commit()
    previous = getattr(app.state, "sessions", None)
    app.state.sessions = sessions
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://evaluation") as client:
            text = (await client.get("/metrics")).text
    finally:
        app.state.sessions = previous
        await engine.dispose()
    backlog = samples(text, "xieshang_outbox_backlog")
    age = samples(text, "xieshang_outbox_oldest_pending_age_seconds")
    assert [s.value for s in backlog if s.labels["service"] == "evaluation"] == [2]
    assert 290 <= next(s.value for s in age if s.labels["service"] == "evaluation") < 600


def test_talent_declares_its_draw_duration_histogram() -> None:
    from prometheus_client import REGISTRY

    importlib.import_module("services.talent.main")
    assert "xieshang_draw_duration_seconds" in {m.name for m in REGISTRY.collect()}
