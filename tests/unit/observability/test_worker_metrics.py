"""The worker's Prometheus endpoint: Temporal SDK metrics and the worker's own
(escalations fired by level, timer lateness, activity failures), on the port from
settings, against a real dev server."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.devstack import free_port
from services.common.settings import Settings
from services.common.temporal import connect
from workflows.telemetry import WorkerMetrics, record_escalation_fired, worker_runtime


@activity.defn
async def fire_rung() -> None:
    record_escalation_fired(2, "warn", "2026-06-30T09:30:00+00:00", "2026-06-30T09:30:01.5+00:00")


@activity.defn
async def refuse() -> None:
    raise ApplicationError("no", type="ServiceRefused", non_retryable=True)


@workflow.defn(sandboxed=False)
class RungWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(fire_rung, start_to_close_timeout=timedelta(seconds=10))
        with contextlib.suppress(ActivityError):  # the failure is what is measured
            await workflow.execute_activity(
                refuse, start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=1)
            )


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


async def test_worker_exports_sdk_and_project_metrics(env: WorkflowEnvironment) -> None:
    port = free_port()
    settings = Settings(
        temporal_address=env.client.service_client.config.target_host, worker_metrics_port=port,
    )
    client = await connect(settings, runtime=worker_runtime(settings))
    queue = f"metrics-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[RungWorkflow], activities=[fire_rung, refuse],
                      interceptors=[WorkerMetrics()]):
        await client.execute_workflow(RungWorkflow.run, id=f"rung-{uuid.uuid4()}", task_queue=queue)
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert answer.status_code == 200
    text = answer.text
    found = families(text)
    # The SDK's own metrics...
    assert any(name.startswith("temporal_workflow_completed") for name in found), sorted(found)[:20]
    assert any(name.startswith("temporal_activity_execution_failed") for name in found)
    # ...and the project's.
    assert 'xieshang_escalations_fired_total{' in text and 'level="2"' in text
    assert "xieshang_escalation_timer_lateness_seconds_bucket" in text
    assert 'xieshang_activity_failures_total{' in text and 'error="ApplicationError"' in text
    assert 'service="worker"' in text


def test_port_zero_turns_the_endpoint_off() -> None:
    assert worker_runtime(Settings(worker_metrics_port=0)) is None


async def test_garbage_collections_are_timed_and_long_pauses_logged(monkeypatch) -> None:
    """Every collection lands in xieshang_worker_gc_pause_seconds by generation; one
    longer than LONG_GC_PAUSE_S (here 0, so every one) is logged with its generation."""
    import gc

    import structlog.testing

    from workflows import telemetry

    port = free_port()
    runtime = worker_runtime(Settings(worker_metrics_port=port))  # held: it serves the endpoint
    watch = telemetry.GarbageCollectionWatch(runtime)
    monkeypatch.setattr(telemetry, "LONG_GC_PAUSE_S", 0.0)
    watch.install()
    try:
        with structlog.testing.capture_logs() as logged:
            gc.collect()
            assert not [entry for entry in logged if entry["event"] == "worker.gc_pause"]  # not from inside the collector
            watch.report()
    finally:
        watch.remove()
    assert watch not in gc.callbacks
    pauses = [entry for entry in logged if entry["event"] == "worker.gc_pause"]
    assert pauses and pauses[-1]["generation"] == 2 and pauses[-1]["seconds"] >= 0
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    full = [s.value for f in text_string_to_metric_families(text) if f.name == "xieshang_worker_gc_pause_seconds"
            for s in f.samples if s.name.endswith("_count") and s.labels.get("generation") == "2"]
    assert full and full[0] >= 1, text[-2000:]
    del runtime


def test_full_collections_walk_the_whole_heap_only_once_per_period() -> None:
    """After a full collection its survivors are frozen (later ones walk only newer
    objects); once the period has passed, the watch unfreezes, the next full collection
    walks everything, and freezing starts again; removing the watch unfreezes."""
    import gc

    from workflows.telemetry import GarbageCollectionWatch

    now = [0.0]
    watch = GarbageCollectionWatch(None, full_scan_every_s=3600, clock=lambda: now[0])
    kept = [[object()] for _ in range(1000)]  # tracked survivors
    watch.install()
    try:
        gc.collect()
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        gc.collect()  # within the period: stays frozen
        assert gc.get_freeze_count() >= frozen
        now[0] = 3600.0
        gc.collect()  # the period has passed: unfrozen, so that the next one walks all
        assert gc.get_freeze_count() == 0
        gc.collect()  # that full scan; then frozen again
        assert gc.get_freeze_count() >= len(kept)
    finally:
        watch.remove()
    assert gc.get_freeze_count() == 0 and watch not in gc.callbacks


def test_without_a_period_nothing_is_frozen() -> None:
    import gc

    from workflows.telemetry import GarbageCollectionWatch

    watch = GarbageCollectionWatch(None)
    watch.install()
    try:
        gc.collect()
        assert gc.get_freeze_count() == 0
    finally:
        watch.remove()
