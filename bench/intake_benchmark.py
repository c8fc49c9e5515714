"""Intake end to end against raw starts, on one dev server, in one run.

    .venv/bin/python bench/intake_benchmark.py [--backends sqlite postgresql] [--n 300] [--rounds 2]

Project: POST /topics through the intake service (row inserted, ConsultationWorkflow
started before the answer), from ``c`` concurrent clients. Raw engine: ``start_workflow``
of a trivial workflow (bench/raw_engine.py, its worker beside the project's). For each
concurrency the two sides alternate in ``rounds`` rounds of n/rounds requests, so both
see the same machine load. Prints a table and writes bench/results/intake.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.chdir(Path(__file__).resolve().parents[1])

import httpx

from bench.harness import Meter, bench_stack, load1, percentile, table, write_result
from bench.raw_engine import RAW_QUEUE, RawStart
from services.common.auth import Role, mint_token
from services.common.settings import Settings

CONCURRENCY = (1, 8, 32)


async def drive(n: int, concurrency: int, one) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(n))

    async def client() -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            try:
                await one(i)
            except Exception:  # noqa: BLE001 - counted, shown in the table
                errors += 1
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - t0, latencies, errors


async def run_backend(backend: str, n: int, rounds: int) -> list[dict]:
    from services.common.temporal import connect

    results = []
    with bench_stack(backend) as stack:
        settings = Settings(jwt_secret=stack.jwt_secret, temporal_address=stack.temporal_address,
                            data_dir=str(stack.devstack.data_dir))  # the stack's payload keys
        clerk = {"Authorization": "Bearer " + mint_token(settings, role=Role.CLERK, subject="bench", ttl_seconds=7200)}
        client = await connect(settings)
        meter = Meter(stack.pids())
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60, limits=limits) as http:
            run_id = uuid.uuid4().hex[:8]

            async def project(i: int) -> None:
                r = await http.post("/topics", headers=clerk, json={
                    "title": f"第{i}号 学校门口交通安全", "content": "上下学高峰拥堵，希望增设信号灯", "channel": "member_recommended"})
                if r.status_code != 201:
                    raise RuntimeError(r.text)

            async def raw(i: int) -> None:
                await client.start_workflow(RawStart.run, i, id=f"raw-{run_id}-{c}-{rnd}-{i}", task_queue=RAW_QUEUE)

            # warm-up: first imports, connections, sandbox caches on both sides
            for c, rnd in ((1, "w"),):
                await drive(10, 1, project)
                await drive(10, 1, raw)
            for c in CONCURRENCY:
                sides = {"project": ([], 0.0, 0, {}), "raw": ([], 0.0, 0, {})}
                loads = []
                for rnd in range(rounds):
                    for side, fn in (("project", project), ("raw", raw)) if rnd % 2 == 0 else (("raw", raw), ("project", project)):
                        before = meter.snapshot()
                        wall, lat, err = await drive(n // rounds, c, fn)
                        after = meter.snapshot()
                        lats, total_wall, total_err, cpu = sides[side]
                        for k in after:
                            cpu[k] = cpu.get(k, 0.0) + after[k] - before.get(k, 0.0)
                        sides[side] = (lats + lat, total_wall + wall, total_err + err, cpu)
                        loads.append(load1())
                row = {"backend": backend, "concurrency": c, "n": (n // rounds) * rounds, "load1": loads}
                for side, (lats, wall, err, cpu) in sides.items():
                    row[side] = {
                        "per_second": round(len(lats) / wall, 1),
                        "p50_ms": round(percentile(lats, 50) * 1000, 1),
                        "p99_ms": round(percentile(lats, 99) * 1000, 1),
                        "errors": err,
                        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
                    }
                row["ratio"] = round(row["project"]["per_second"] / row["raw"]["per_second"], 2)
                row["p99_ratio"] = round(row["project"]["p99_ms"] / row["raw"]["p99_ms"], 2)
                results.append(row)
                print(f"  {backend} c={c}: project {row['project']['per_second']}/s, raw {row['raw']['per_second']}/s, "
                      f"ratio {row['ratio']} (load {loads})", flush=True)
            results[-1]["rss_mib"] = meter.rss()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--n", type=int, default=300, help="requests per concurrency and side")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--label", default="intake", help="name of the JSON under bench/results/")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        rows += asyncio.run(run_backend(backend, args.n, args.rounds))
    print(table(
        [[r["backend"], r["concurrency"], r["project"]["per_second"], r["raw"]["per_second"], r["ratio"],
          r["project"]["p50_ms"], r["project"]["p99_ms"], r["raw"]["p50_ms"], r["raw"]["p99_ms"], r["p99_ratio"],
          r["project"]["errors"] + r["raw"]["errors"], max(r["load1"])] for r in rows],
        ["db", "c", "project/s", "raw/s", "ratio", "p50 ms", "p99 ms", "raw p50", "raw p99", "p99 ratio", "errors",
         "load1 max"],
    ))
    path = write_result(args.label, {"command": "bench/intake_benchmark.py " + " ".join(sys.argv[1:]), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
