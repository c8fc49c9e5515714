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

Metric names carry no ids and no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from services.common.settings import Settings

LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]


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
                histogram_bucket_overrides={"xieshang_escalation_timer_lateness_seconds": LATENESS_BUCKETS},
            ),
            global_tags={"service": "worker"},
        )
    )


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
