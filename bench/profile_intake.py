"""Where a registration's CPU goes: py-spy on intake, the worker and evaluation while
topics are registered one client at a time (docs/benchmarks.md, "Second pass").

    .venv/bin/python bench/profile_intake.py [--n 300] [--concurrency 1] [--seconds 12]

Writes py-spy's raw (collapsed) stacks to <--out>/profile-<process>.txt (a temporary folder
unless given) and prints
the throughput, the CPU milliseconds per topic of every process, and each process's
heaviest frames (share of its samples, inclusive). py-spy comes with the test extra.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.chdir(Path(__file__).resolve().parents[1])

import httpx

from bench.harness import Meter, bench_stack, load1, percentile
from bench.intake_benchmark import drive
from services.common.auth import Role, mint_token
from services.common.settings import Settings

PROFILED = ("intake", "worker", "evaluation")
# Frames every sample passes through (the event loop, the server's entry point).
SCAFFOLDING = ("asyncio/", "runpy", "click/", "uvicorn/", "threading.py", "concurrent/futures", "workflows/worker.py")


def heaviest(path: Path, top: int) -> list[tuple[float, str]]:
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    ranked = [(frame, n) for frame, n in inclusive.most_common() if frame and not any(s in frame for s in SCAFFOLDING)]
    return [(round(100 * n / max(total, 1), 1), frame) for frame, n in ranked[:top]]


async def run(n: int, concurrency: int, seconds: int, top: int, out: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with bench_stack("sqlite", raw_worker=False) as stack:
        settings = Settings(jwt_secret=stack.jwt_secret, temporal_address=stack.temporal_address,
                            data_dir=str(stack.devstack.data_dir))  # the stack's payload keys
        clerk = {"Authorization": "Bearer " + mint_token(settings, role=Role.CLERK, subject="bench", ttl_seconds=7200)}
        pids = stack.pids()
        meter = Meter(pids)
        async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60) as http:
            async def register(i: int) -> None:
                r = await http.post("/topics", headers=clerk, json={
                    "title": f"第{i}号 学校门口交通安全", "content": "上下学高峰拥堵，希望增设信号灯", "channel": "member_recommended"})
                if r.status_code != 201:
                    raise RuntimeError(r.text)

            await drive(20, 1, register)  # warm-up
            out.mkdir(parents=True, exist_ok=True)
            spies = [await asyncio.create_subprocess_exec(
                spy, "record", "-p", str(pids[name]), "-d", str(seconds), "-r", "100", "-f", "raw", "--nonblocking",
                "-o", str(out / f"profile-{name}.txt"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ) for name in PROFILED]
            await asyncio.sleep(1)
            before = meter.snapshot()
            wall, latencies, errors = await drive(n, concurrency, register)
            await asyncio.sleep(2)  # the last topics' first tasks
            after = meter.snapshot()
            for process in spies:
                await process.wait()
    print(f"{n / wall:.1f} topics/s, p50 {percentile(latencies, 50) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.0f} ms, errors {errors}, load {load1()}")
    print("CPU ms per topic:", {k: round((after[k] - before.get(k, 0.0)) / n * 1000, 1) for k in after})
    for name in PROFILED:
        print(f"\n{name}:")
        for share, frame in heaviest(out / f"profile-{name}.txt", top):
            print(f"  {share:5.1f}% {frame[:140]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=12, help="how long py-spy samples")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None, help="folder for the raw stacks")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="xieshang-profile-"))
    asyncio.run(run(args.n, args.concurrency, args.seconds, args.top, out))
    print(f"\nraw stacks in {out}")


if __name__ == "__main__":
    main()
