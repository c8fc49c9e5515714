"""What the benchmarks share: a real stack of processes (the same DevStack as `make up`
and the e2e tests), the raw engine's worker beside it, process figures from /proc,
percentiles, the load average and the JSON written under bench/results/.

Every benchmark measures the project and the raw engine in the same run, on the same
Temporal dev server, so the ratio is meaningful even when the machine is shared.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common.devstack import DevStack, Process, StackPorts
from services.common.settings import SERVICE_NAMES

RESULTS = ROOT / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_pids(pid: int) -> list[int]:
    """A process and its descendants (the dev server's binary is a child of its launcher)."""
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        out.extend(tree_pids(int(child)))
    return out


@dataclass
class Meter:
    """CPU seconds of each stack process between start() and stop(), and peak RSS."""

    processes: dict[str, int]

    def snapshot(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in tree_pids(pid)) for name, pid in self.processes.items()}

    def rss(self) -> dict[str, float]:
        return {name: round(sum(rss_mib(p) for p in tree_pids(pid)), 1) for name, pid in self.processes.items()}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **data,
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


POSTGRES_ADMIN_URL = os.environ.get("XIESHANG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_databases(prefix: str) -> dict[str, str]:
    from tests.stack import create_postgres_databases

    return create_postgres_databases(prefix)


def drop_postgres(urls: dict[str, str]) -> None:
    from tests.stack import drop_postgres_databases

    drop_postgres_databases(urls)


@dataclass
class BenchStack:
    devstack: DevStack
    jwt_secret: str
    database_urls: dict[str, str]
    raw_worker: Process | None = None

    def url(self, service: str) -> str:
        return self.devstack.service_url(service)  # type: ignore[arg-type]

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.devstack.ports.temporal}"

    def pids(self) -> dict[str, int]:
        out = {p.name: p.popen.pid for p in self.devstack.processes if p.alive()}
        return out

    def temporal_db_mib(self) -> float:
        db = Path(self.devstack.temporal_db)
        return round(sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 2**20, 1)


@contextmanager
def bench_stack(backend: str, env: dict[str, str] | None = None, *, raw_worker: bool = True):
    """Temporal dev server, the three services, the project's worker and (for the
    baseline) the raw engine's worker, on SQLite files or fresh PostgreSQL databases."""
    with tempfile.TemporaryDirectory(prefix=f"xieshang-bench-{backend}-") as tmp:
        data_dir = Path(tmp)
        secret = secrets.token_urlsafe(32)
        if backend == "postgresql":
            urls = postgres_databases(f"bench_{secrets.token_hex(4)}")
        else:
            urls = {s: f"sqlite+aiosqlite:///{data_dir}/{s}.db" for s in SERVICE_NAMES}
        full_env = {
            "XIESHANG_JWT_SECRET": secret,
            "XIESHANG_LOG_LEVEL": "warning",
            "XIESHANG_TEMPORAL_TASK_QUEUE": "xieshang-bench",
            **{f"XIESHANG_{s.upper()}_DATABASE_URL": u for s, u in urls.items()},
            **(env or {}),
        }
        devstack = DevStack(data_dir=data_dir, ports=StackPorts.free(), env=full_env)
        stack = BenchStack(devstack=devstack, jwt_secret=secret, database_urls=urls)
        try:
            subprocess.run([sys.executable, "-m", "services.common.cli", "migrate"],
                           env={**os.environ, **devstack.env}, check=True, capture_output=True)
            devstack.start_temporal()
            for service in SERVICE_NAMES:
                devstack.start_service(service)
            devstack.start_worker()
            if raw_worker:
                stack.raw_worker = devstack._spawn("raw-worker", [sys.executable, "-m", "bench.raw_engine"])
            devstack.wait_ready(timeout=180)
            yield stack
        finally:
            devstack.stop()
            if backend == "postgresql":
                drop_postgres(urls)
