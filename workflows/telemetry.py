"""The worker's metrics: the Temporal SDK's own (task latencies, slots, sticky cache,
activity failures by type...) and the project's, all on one Prometheus endpoint.

The endpoint is the SDK runtime's Prometheus exporter (``Runtime`` with a
``PrometheusConfig``), bound to ``worker_metrics_host:worker_metrics_port``; the
project's metrics are created on the same runtime's meter, so one scrape sees both:

* ``xieshang_escalations_fired{level, step}``: escalation rungs recorded (first
  attempt of ``record_escalation`` only, so retries do not count twice);
* ``xieshang_escalation_timer_lateness_seconds``: how long after its planned instant a
  rung's timer fired in the workflow (``fired_at - planned_at``), the figure a burst of
  deadlines at 17:30 makes grow;
* ``xieshang_activity_failures{activity, error}``: activity attempts that raised.
* ``xieshang_worker_gc_pause_seconds{generation}``: the worker's garbage collections.
  A collection stops every thread, workflow activations included, and the SDK fails an
  activation that has not yielded within 2 s (TMPRL1101): with thousands of workflows
  cached, a full collection walks all of them. A pause over ``LONG_GC_PAUSE_S`` is also
  logged (``worker.gc_pause``), so a deadlock warning can be set beside it.

Metric names carry no ids and no personal data.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from services.common.settings import Settings

LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
GC_PAUSE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5]
#: A pause this long is a fifth of the SDK's deadlock limit (2 s): worth a log line.
LONG_GC_PAUSE_S = 0.4


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting Prometheus metrics, or None (the SDK's default runtime, no
    endpoint) when ``worker_metrics_port`` is 0. Binding happens here: a port in use
    fails the worker's start, loudly, instead of leaving it unobservable."""
    if not settings.worker_metrics_port:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{settings.worker_metrics_host}:{settings.worker_metrics_port}",
                counters_total_suffix=True,
                durations_as_seconds=True,
                histogram_bucket_overrides={"xieshang_escalation_timer_lateness_seconds": LATENESS_BUCKETS,
                                            "xieshang_worker_gc_pause_seconds": GC_PAUSE_BUCKETS},
            ),
            global_tags={"service": "worker"},
        )
    )


class GarbageCollectionWatch:
    """Times every garbage collection of this process (``gc.callbacks``): into
    ``xieshang_worker_gc_pause_seconds`` when the runtime exports metrics, and into the
    log when one is longer than ``LONG_GC_PAUSE_S`` (both by ``report``, every second
    from ``report_every``). Collections do not overlap (one runs at a time, holding the
    GIL), so one start time is enough.

    With ``full_scan_every_s`` > 0 it also keeps full collections short. The cached
    workflows are the worker's long-lived heap: the 10,000 burst measured full collections
    of 0.4 s growing to 1.4 s as the cache filled, one every 25–45 s, and 2.34 s during
    its drain, each stopping every workflow task (the SDK's deadlock limit is 2 s). After each full collection, the
    objects that survived it are frozen (``gc.freeze``): later collections walk only what
    is newer. Frozen objects are never freed by the collector, only by reference counts,
    so cyclic garbage among them (evicted workflows) waits for the next full scan: every
    ``full_scan_every_s`` the watch unfreezes, the next full collection walks the whole
    heap once, and freezing starts again after it."""

    def __init__(self, runtime: Runtime | None, *, full_scan_every_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._started = 0.0
        self._by_generation: list[Any] = []
        if runtime is not None:
            pauses = runtime.metric_meter.create_histogram_float(
                "xieshang_worker_gc_pause_seconds", "Garbage-collection pauses of the worker, by generation.", "s")
            self._by_generation = [pauses.with_additional_attributes({"generation": str(g)}) for g in range(3)]
        self._log = structlog.get_logger()
        # (generation, seconds, collected, ended at): bounded, should report() not run.
        self._pauses: deque[tuple[int, float, int, float]] = deque(maxlen=100_000)
        self._full_scan_every_s = full_scan_every_s
        self._clock = clock
        self._last_full_scan = clock()
        self._unfrozen = False  # the next full collection walks the whole heap

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = info.get("generation", 2)
        # Only an append here. A collection starts inside whatever code allocated, perhaps
        # with a logger's or a metric's lock held: logging from here could wait on that
        # lock forever. report() records and logs, from the event loop.
        self._pauses.append((generation, pause, info.get("collected", 0), time.time()))
        if generation == 2 and self._full_scan_every_s > 0:
            self._after_full_collection()

    def report(self) -> None:
        """Records the pauses since the last report and logs the long ones."""
        while self._pauses:
            generation, pause, collected, ended = self._pauses.popleft()
            if self._by_generation:
                self._by_generation[generation].record(pause)
            if pause >= LONG_GC_PAUSE_S:
                self._log.warning("worker.gc_pause", generation=generation, seconds=round(pause, 3),
                                  collected=collected, ended_at=datetime.fromtimestamp(ended, UTC).isoformat())

    async def report_every(self, seconds: float = 1.0) -> None:
        while True:
            self.report()
            await asyncio.sleep(seconds)

    def _after_full_collection(self) -> None:
        # The collection is over when "stop" is called: freezing moves lists, walks nothing.
        now = self._clock()
        if self._unfrozen:
            self._unfrozen = False
            self._last_full_scan = now
        elif now - self._last_full_scan >= self._full_scan_every_s:
            gc.unfreeze()
            self._unfrozen = True
            return
        gc.freeze()

    def install(self) -> None:
        gc.callbacks.append(self)

    def remove(self) -> None:
        """Stops watching and gives the frozen objects back to the collector."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
        if self._full_scan_every_s > 0:
            gc.unfreeze()


def record_escalation_fired(level: int, step: str, planned_at: str, fired_at: str) -> None:
    """Called from inside the ``record_escalation`` activity."""
    if activity.info().attempt != 1:
        return
    meter = activity.metric_meter()
    meter.create_counter("xieshang_escalations_fired", "Escalation rungs fired, by level.").with_additional_attributes(
        {"level": str(level), "step": step}
    ).add(1)
    lateness = (datetime.fromisoformat(fired_at) - datetime.fromisoformat(planned_at)).total_seconds()
    meter.create_histogram_float(
        "xieshang_escalation_timer_lateness_seconds",
        "Seconds between a rung's planned instant and its timer firing in the workflow.",
        "s",
    ).record(max(0.0, lateness))


class _CountFailures(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception as exc:
            activity.metric_meter().create_counter(
                "xieshang_activity_failures", "Activity attempts that raised, by activity and error type."
            ).with_additional_attributes(
                {"activity": activity.info().activity_type, "error": type(exc).__name__}
            ).add(1)
            raise


class WorkerMetrics(Interceptor):
    """Counts failed activity attempts (the SDK counts them too, without the error type)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountFailures(next)
