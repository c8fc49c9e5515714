"""N follow-ups due at the same instant, against a minimal sleeping workflow.

    .venv/bin/python bench/burst_benchmark.py [--n 1000 5000] [--backend sqlite] [--scale 100]

Project: N commitments (POST /commitments, 8 clients) with the same due date on the
``seconds`` ladder (one working day = ``scale`` s): every FollowUpWorkflow's reminder
(提醒, due − 10 working days) fires at the same instant F, placed after the creation
has settled. Measured: time to create (accepted) and to settle (the background work of
the new workflows: until the worker, evaluation and Temporal fall idle), the drain (F →
last escalation record), the lateness of escalation records (``recorded_at − planned``)
and of webhook deliveries (arrival at a receiver − F), worker and server memory,
Temporal's database size, and what became of every notification (delivered, pending,
failed: late or lost).

Raw engine: N ``RawDeadline`` workflows (bench/raw_engine.py) sleeping to one instant,
each then running one no-op activity; same server, same worker settings, after the
project's burst. Prints a table, writes bench/results/burst.json (or --label).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.chdir(Path(__file__).resolve().parents[1])

import httpx

from bench.harness import Meter, bench_stack, load1, percentile, table, write_result
from bench.raw_engine import RAW_QUEUE, RawDeadline
from services.common.auth import Role, mint_token
from services.common.settings import Settings


class Hooks:
    """A webhook receiver recording arrival times (answers 200 at once)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, dict]] = {}  # event id -> (first arrival, body)
        self.requests = 0
        self.lock = threading.Lock()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                with hooks.lock:
                    hooks.requests += 1
                    hooks.arrivals.setdefault(self.headers.get("X-Xieshang-Event-Id", ""), (now, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def reminders(self) -> list[float]:
        with self.lock:
            return [t for t, body in self.arrivals.values() if body.get("payload", {}).get("step") == "reminder"]


async def wait_idle(meter: Meter, names: tuple[str, ...], *, below: float = 0.15, quiet: float = 3.0,
                    until: datetime | None = None, timeout: float = 3600) -> float:
    """Seconds until the named processes together use less than ``below`` of a core for
    ``quiet`` seconds in a row; NaN if they are still busy at ``until`` (the instant: from
    there on the CPU they use belongs to the drain, so waiting on would swallow its figures)."""
    t0 = time.monotonic()
    calm = 0.0
    last = meter.snapshot()
    while time.monotonic() - t0 < timeout and (until is None or datetime.now(UTC) < until):
        await asyncio.sleep(1)
        now = meter.snapshot()
        busy = sum(now[n] - last[n] for n in names if n in now)
        last = now
        calm = calm + 1 if busy < below else 0.0
        if calm >= quiet:
            return time.monotonic() - t0 - quiet
    return float("nan")


async def escalation_rows(url: str) -> list[tuple[datetime, datetime, datetime]]:
    from sqlalchemy import select

    from services.common.db import create_engine
    from services.evaluation.commitments.models import EscalationEvent

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(EscalationEvent.planned_at, EscalationEvent.fired_at,
                                              EscalationEvent.recorded_at).where(EscalationEvent.step == "reminder")))
            return [tuple(r) for r in rows]
    finally:
        await engine.dispose()


async def outbox_summary(url: str) -> dict:
    from sqlalchemy import func, select

    from services.common.db import create_engine
    from services.evaluation.notifications.models import (
        Notification,
        NotificationDelivery,
    )

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            by_status = dict((await conn.execute(select(Notification.status, func.count()).group_by(Notification.status))).all())
            attempts = dict((await conn.execute(
                select(NotificationDelivery.attempts, func.count()).group_by(NotificationDelivery.attempts))).all())
            errors = dict((await conn.execute(select(NotificationDelivery.last_error, func.count())
                                              .where(NotificationDelivery.last_error.is_not(None))
                                              .group_by(NotificationDelivery.last_error).limit(5))).all())
            unplanned = await conn.scalar(select(func.count()).select_from(Notification).where(Notification.planned_at.is_(None)))
        return {"by_status": by_status, "delivery_attempts": {str(k): v for k, v in attempts.items()},
                "errors": {str(k)[:120]: v for k, v in errors.items()}, "unplanned": unplanned}
    finally:
        await engine.dispose()


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def sample_rss(meter: Meter, peaks: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, mib in meter.rss().items():
            peaks[name] = max(peaks.get(name, 0.0), mib)
        await asyncio.sleep(1)


async def project_burst(stack, settings: Settings, hooks: Hooks, n: int, scale: float, lead: float,
                        window: float | None = None) -> dict:
    meter = Meter(stack.pids())
    clerk = {"Authorization": "Bearer " + mint_token(settings, role=Role.CLERK, subject="bench", ttl_seconds=7200)}
    fire_at = datetime.now(UTC) + timedelta(seconds=lead)
    due_at = fire_at + timedelta(seconds=10 * scale)  # the reminder fires 10 working days before
    cpu0 = meter.snapshot()
    load_start = load1()
    errors = 0
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=stack.url("evaluation"), timeout=120, limits=limits) as http:
        async def client() -> None:
            nonlocal errors
            for i in counter:
                r = await http.post("/commitments", headers=clerk, json={
                    "consultation_topic_id": i + 1, "department": "教育体育局", "content": "新建公办幼儿园",
                    "due_at": due_at.isoformat(), "policy": "seconds", "seconds_scale": scale})
                errors += r.status_code != 201

        t0 = time.monotonic()
        await asyncio.gather(*(client() for _ in range(8)))
        accepted = time.monotonic() - t0
    settle = await wait_idle(meter, ("worker", "evaluation", "temporal"), until=fire_at)
    cpu_settle = {k: round(v - cpu0.get(k, 0.0), 1) for k, v in meter.snapshot().items()}
    settled_before_fire = not math.isnan(settle)  # wait_idle gives up at the instant
    print(f"  project: created {n} in {accepted:.1f} s, " + (
        f"settled {settle:.1f} s later (before the instant)" if settled_before_fire
        else "still settling at the instant: the drain carries the rest"), flush=True)
    while datetime.now(UTC) < fire_at:
        await asyncio.sleep(0.2)
    cpu1 = meter.snapshot()
    peaks: dict[str, float] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(meter, peaks, stop))
    loads = [load1()]
    rows: list = []
    deadline = time.monotonic() + (window or max(300.0, n * 0.3))
    while time.monotonic() < deadline:
        await asyncio.sleep(2)
        loads.append(load1())
        rows = await escalation_rows(stack.database_urls["evaluation"])
        if len(rows) >= n:
            break
    drained_at = max((as_utc(r[2]) for r in rows), default=fire_at)
    cpu_drain = {k: round(v - cpu1.get(k, 0.0), 1) for k, v in meter.snapshot().items()}
    # Webhooks: wait for the outbox to empty (or 120 s more), then account for each one.
    webhook_deadline = time.monotonic() + 120
    while time.monotonic() < webhook_deadline and len(hooks.reminders()) < len(rows):
        await asyncio.sleep(2)
    stop.set()
    await sampler
    outbox = await outbox_summary(stack.database_urls["evaluation"])
    fire_ts = fire_at.timestamp()
    record_lateness = [(as_utc(r[2]) - as_utc(r[0])).total_seconds() for r in rows]
    timer_lateness = [(as_utc(r[1]) - as_utc(r[0])).total_seconds() for r in rows]
    hook_lateness = [t - fire_ts for t in hooks.reminders()]
    return {
        "n": n, "scale": scale, "errors": errors, "create_accepted_s": round(accepted, 1),
        "settle_s": round(settle, 1) if settled_before_fire else None, "settled_before_fire": settled_before_fire,
        "cpu_settle_s": cpu_settle,
        "records": len(rows), "drain_s": round((drained_at - fire_at).total_seconds(), 1),
        "record_lateness_p50_s": round(percentile(record_lateness, 50), 2),
        "record_lateness_p99_s": round(percentile(record_lateness, 99), 2),
        "timer_lateness_p50_s": round(percentile(timer_lateness, 50), 2),
        "timer_lateness_p99_s": round(percentile(timer_lateness, 99), 2),
        "webhooks": len(hook_lateness), "webhook_requests": hooks.requests,
        "webhook_lateness_p50_s": round(percentile(hook_lateness, 50), 2),
        "webhook_lateness_p99_s": round(percentile(hook_lateness, 99), 2),
        "outbox": outbox, "cpu_drain_s": cpu_drain, "peak_rss_mib": peaks,
        "temporal_db_mib": stack.temporal_db_mib(), "load1": [load_start, *loads],
    }


async def raw_burst(stack, n: int, lead: float) -> dict:
    from services.common.temporal import connect

    meter = Meter(stack.pids())
    client = await connect(Settings(temporal_address=stack.temporal_address, data_dir=str(stack.devstack.data_dir)))
    fire_at = datetime.now(UTC) + timedelta(seconds=lead)
    run = uuid.uuid4().hex[:8]
    sem = asyncio.Semaphore(8)

    async def start(i: int):
        async with sem:
            return await client.start_workflow(RawDeadline.run, fire_at.isoformat(), id=f"rawdl-{run}-{i}",
                                               task_queue=RAW_QUEUE)

    t0 = time.monotonic()
    handles = await asyncio.gather(*(start(i) for i in range(n)))
    accepted = time.monotonic() - t0
    started_before_fire = datetime.now(UTC) < fire_at
    print(f"  raw: started {n} in {accepted:.1f} s ({'before' if started_before_fire else 'AFTER'} the instant)",
          flush=True)
    while datetime.now(UTC) < fire_at:
        await asyncio.sleep(0.2)
    cpu1 = meter.snapshot()
    peaks: dict[str, float] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(meter, peaks, stop))
    loads = [load1()]
    sem2 = asyncio.Semaphore(64)

    async def result(h):
        async with sem2:
            return await h.result()

    done = await asyncio.gather(*(result(h) for h in handles), return_exceptions=True)
    loads.append(load1())
    stop.set()
    await sampler
    times = [t for t in done if isinstance(t, float)]
    lateness = [t - fire_at.timestamp() for t in times]
    return {
        "n": n, "errors": n - len(times), "create_accepted_s": round(accepted, 1),
        "started_before_fire": started_before_fire,
        "drain_s": round(max(lateness, default=float("nan")), 1),
        "lateness_p50_s": round(percentile(lateness, 50), 2), "lateness_p99_s": round(percentile(lateness, 99), 2),
        "cpu_drain_s": {k: round(v - cpu1.get(k, 0.0), 1) for k, v in meter.snapshot().items()},
        "peak_rss_mib": peaks, "temporal_db_mib": stack.temporal_db_mib(), "load1": loads,
    }


SIDES = ("project", "raw")


#: What the issue's target rules out, as it appears in the stack's logs: the SDK's deadlock
#: detector and failed activity or workflow tasks. A deadlock fails its workflow task
#: too: the worker logs "Failed handling activation" for it (and for any activation that
#: raised), the workflow's own code "Failed activation on workflow". Beside them, the
#: worker's long garbage-collection pauses (workflows/telemetry.py), which stop every
#: activation at once, and workflow tasks that stayed open long (TMPRL1104).
WARNINGS = {
    "deadlock_TMPRL1101": ("TMPRL1101",),
    "activity_task_failed": ("Completing activity as failed",),
    "workflow_task_failed": ("Failed handling activation", "Failed activation on workflow"),
    "long_gc_pause": ("worker.gc_pause",),
    # The SDK core's note that a workflow task stayed open over 5 s: with the rung's
    # record a local activity, its task lasts as long as evaluation takes to answer.
    "slow_workflow_task_TMPRL1104": ("TMPRL1104",),
}

#: Lines that open a log record a warning belongs to: its traceback follows them.
RECORD_OPENINGS = WARNINGS["activity_task_failed"] + WARNINGS["workflow_task_failed"]
#: A line that starts a record of its own: a library's or the SDK core's (time first, the
#: core's in terminal colours) or structlog's (JSON).
RECORD_START = re.compile(r"^(\x1b\[[0-9;]*m)?(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d|\{)")
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _record_of(lines: list[str], hit: int) -> list[str]:
    """The whole log record a warning line belongs to: back to the line that opened it
    (with its time and run id) and on through its traceback, so the sample shows the
    frames the activation was in when it stalled, not just the exception's last line."""
    start = hit
    for back in range(hit, max(-1, hit - 400), -1):
        if any(opening in lines[back] for opening in RECORD_OPENINGS):
            start = back
            break
    end = hit + 1
    while end < len(lines) and end - hit < 400 and not RECORD_START.match(lines[end]):
        end += 1
    return lines[start:end]


def log_warnings(log_dir: Path) -> dict:
    """Each warning counted in every process's logs, with up to 3 whole records per kind
    (the process's log, then the record's lines, capped at 12,000 characters): the stack's
    logs go with its temporary directory, and a count alone does not say which workflow
    stalled, when, or where in its code."""
    counts: dict = {kind: 0 for kind in WARNINGS}
    samples: dict[str, list[str]] = {kind: [] for kind in WARNINGS}
    for path in sorted(log_dir.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        for at, line in enumerate(lines):
            for kind, markers in WARNINGS.items():
                hits = sum(line.count(marker) for marker in markers)
                if not hits:
                    continue
                counts[kind] += hits
                if len(samples[kind]) < 3:
                    record = COLOURS.sub("", "\n".join(_record_of(lines, at)))
                    samples[kind].append(f"{path.name}: {record[-12000:]}")
    counts["samples"] = {kind: records for kind, records in samples.items() if records}
    return counts


async def run(n: int, backend: str, scale: float, env: dict[str, str], window: float | None = None,
              lead: float | None = None, sides: tuple[str, ...] = SIDES) -> dict:
    """Both sides on one stack, the project's burst first; ``sides`` runs one of them
    alone on a stack of its own (a 10,000 run of both takes most of an hour)."""
    hooks = Hooks()
    env = {"XIESHANG_NOTIFICATION_WEBHOOKS": json.dumps({"bench": hooks.url}), **env}
    project: dict = {}
    raw: dict = {}
    with bench_stack(backend, env) as stack:
        settings = Settings(jwt_secret=stack.jwt_secret, data_dir=str(stack.devstack.data_dir))
        # Creation and settling must end before the instant (the table says if they did not).
        lead = lead or 30 + n * 0.25
        if "project" in sides:
            project = await project_burst(stack, settings, hooks, n, scale, lead, window)
        if "raw" in sides:
            # The raw side's instant also comes after all its starts: as long again as the
            # project's creation took, and half as much more (starts are cheaper); alone,
            # the lead given.
            raw_lead = 30 + 1.5 * project["create_accepted_s"] if "project" in sides else lead
            raw = await raw_burst(stack, n, raw_lead)
        warnings = log_warnings(stack.devstack.log_dir)
    hooks.server.shutdown()
    ratio = round(raw["drain_s"] / project["drain_s"], 2) if "project" in sides and "raw" in sides else None
    return {"backend": backend, "n": n, "sides": list(sides), "project": project, "raw": raw,
            "drain_ratio_raw_over_project": ratio,
            "log_warnings": warnings,
            "env": {k: v for k, v in env.items() if k != "XIESHANG_NOTIFICATION_WEBHOOKS"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--scale", type=float, default=100.0, help="seconds per working day of the ladder")
    parser.add_argument("--env", action="append", default=[], help="extra XIESHANG_*=value for the stack")
    parser.add_argument("--window", type=float, default=None,
                        help="seconds after the instant to wait for every record (default max(300, 0.3 N))")
    parser.add_argument("--lead", type=float, default=None,
                        help="seconds from the first creation to the instant (default 30 + N/4); on a quiet "
                             "machine N/10 leaves room for creating and settling")
    parser.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES),
                        help="run one side alone, on a stack of its own (default: both, project first)")
    parser.add_argument("--label", default="burst")
    args = parser.parse_args()
    env = dict(e.split("=", 1) for e in args.env)
    results = []
    for n in args.n:
        print(f"N = {n} ({args.backend}, load {load1()})", flush=True)
        results.append(asyncio.run(run(n, args.backend, args.scale, env, args.window, args.lead, tuple(args.sides))))
    def cell(r: dict, side: str, key: str) -> object:
        return r[side].get(key, "-")  # "-": that side was not run

    print(table(
        [[r["n"], cell(r, "project", "create_accepted_s"), cell(r, "project", "settle_s"), cell(r, "project", "drain_s"),
          cell(r, "raw", "drain_s"), r["drain_ratio_raw_over_project"], cell(r, "project", "record_lateness_p50_s"),
          cell(r, "project", "record_lateness_p99_s"), cell(r, "raw", "lateness_p50_s"), cell(r, "raw", "lateness_p99_s"),
          cell(r, "project", "webhook_lateness_p99_s"),
          f"{cell(r, 'project', 'webhooks')}/{cell(r, 'project', 'records')}",
          r["project"].get("errors", 0) + r["raw"].get("errors", 0),
          max(r["project"].get("load1", []) + r["raw"].get("load1", []), default="-")] for r in results],
        ["N", "create s", "settle s", "drain s", "raw drain s", "ratio", "rec p50", "rec p99", "raw p50", "raw p99",
         "hook p99", "hooks", "errors", "load1 max"],
    ))
    path = write_result(args.label, {"command": "bench/burst_benchmark.py " + " ".join(sys.argv[1:]), "runs": results})
    for r in results:
        print(f"N = {r['n']}: log warnings {r['log_warnings']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
