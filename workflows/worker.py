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
from services.common.settings import get_settings
from services.common.temporal import connect

from .activities import LifecycleActivities
from .consultation import ConsultationWorkflow
from .followup import FollowUpWorkflow
from .followup_activities import FollowUpActivities

WORKFLOWS = [ConsultationWorkflow, FollowUpWorkflow]


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


async def run_worker() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, service="worker")
    log = structlog.get_logger()
    client = await connect(settings)
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
        )
        async with worker:
            log.info("worker.started", task_queue=settings.temporal_task_queue)
            await stop.wait()
            log.info("worker.stopping")


def main() -> None:
    from services.common.cli import exit_hard

    asyncio.run(run_worker())
    exit_hard(0)


if __name__ == "__main__":
    main()
