"""The worker: runs every workflow and activity on the project's task queue.

    python -m workflows.worker
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from temporalio.worker import Worker

from services.common.log import configure_logging
from services.common.service_client import ServiceClient
from services.common.settings import Settings, get_settings
from services.common.temporal import connect
from services.common.tracing import configure_tracing

from . import ids
from .activities import LifecycleActivities
from .cohandling import CoHandlingWorkflow
from .consultation import ConsultationWorkflow
from .followup import FollowUpWorkflow
from .followup_activities import FollowUpActivities
from .telemetry import GarbageCollectionWatch, WorkerMetrics, worker_runtime

WORKFLOWS = [ConsultationWorkflow, FollowUpWorkflow, CoHandlingWorkflow]


def activities_for(services: ServiceClient) -> list:
    consultation = LifecycleActivities(services)
    followup = FollowUpActivities(services)
    return [
        consultation.record_consultation_event,
        consultation.draw_participants,
        consultation.draw_replacements,
        consultation.reveal_draw,
        consultation.hand_over_commitments,
        consultation.send_notice,
        consultation.mirror_topic_stage,
        followup.plan_follow_up,
        followup.decide_reopen,
        followup.record_escalation,
        followup.sync_commitment_state,
    ]


def worker_options(settings: Settings) -> dict:
    """Tuning from settings (docs/scaling.md); None leaves the SDK's default."""
    options: dict = {"max_cached_workflows": settings.worker_max_cached_workflows}
    if settings.worker_max_concurrent_workflow_tasks is not None:
        options["max_concurrent_workflow_tasks"] = settings.worker_max_concurrent_workflow_tasks
    if settings.worker_max_concurrent_activities is not None:
        options["max_concurrent_activities"] = settings.worker_max_concurrent_activities
    if settings.worker_max_concurrent_local_activities is not None:
        options["max_concurrent_local_activities"] = settings.worker_max_concurrent_local_activities
    return options


async def run_worker() -> None:
    """Order: logging and tracing first, then the metrics runtime (binds the metrics
    port), the garbage-collection watch (its histogram is on that runtime), the client on
    that runtime, and the worker on the client."""
    settings = get_settings()
    configure_logging(settings.log_level, service="worker")
    configure_tracing(settings, "worker")
    ids.configure(settings.installation_id, settings.data_dir)
    log = structlog.get_logger()
    runtime = worker_runtime(settings)
    collections = GarbageCollectionWatch(runtime, full_scan_every_s=settings.worker_gc_full_scan_hours * 3600)
    collections.install()
    reporting = asyncio.create_task(collections.report_every())
    client = await connect(settings, runtime=runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with ServiceClient(settings) as services:
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=activities_for(services),
            interceptors=[WorkerMetrics()],
            **worker_options(settings),
        )
        async with worker:
            log.info("worker.started", task_queue=settings.temporal_task_queue)
            await stop.wait()
            log.info("worker.stopping")
    reporting.cancel()


def main() -> None:
    from services.common.cli import exit_hard

    asyncio.run(run_worker())
    exit_hard(0)


if __name__ == "__main__":
    main()
