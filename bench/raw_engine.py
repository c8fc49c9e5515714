"""The raw engine's side of the benchmarks: the smallest workflows that do what the
project's do, on their own task queue of the same dev server, with the same worker
settings (sticky cache, slots) read from the same XIESHANG_* environment.

* ``RawStart``: returns at once (the baseline of a topic's registration: one start).
* ``RawDeadline``: sleeps until an instant, then runs one no-op activity and returns the
  wall-clock time the activity ran (the baseline of an escalation rung).

    python -m bench.raw_engine      # started by bench/harness.py beside the stack
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow
from temporalio.worker import Worker

RAW_QUEUE = "raw-bench"


@workflow.defn
class RawStart:
    @workflow.run
    async def run(self, n: int) -> int:
        return n


@activity.defn
async def noop_record(planned_at: str) -> float:
    return time.time()


@workflow.defn
class RawDeadline:
    @workflow.run
    async def run(self, fire_at: str) -> float:
        delay = (datetime.fromisoformat(fire_at) - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(delay)
        return await workflow.execute_activity(noop_record, fire_at, start_to_close_timeout=timedelta(seconds=60))


async def main() -> None:
    from services.common.settings import get_settings
    from services.common.temporal import connect
    from workflows.worker import worker_options

    settings = get_settings()
    client = await connect(settings)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=RAW_QUEUE, workflows=[RawStart, RawDeadline], activities=[noop_record],
                      **worker_options(settings)):
        await stop.wait()


def utc_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


if __name__ == "__main__":
    asyncio.run(main())
