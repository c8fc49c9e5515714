"""What the request guard costs a write: CPU per POST /venues, in process, on SQLite.

    PYTHONPATH=. .venv/bin/python bench/guard_overhead.py

Three runs of 300 requests each on fresh databases: without the guard's tables (the
guard passes everything through), with the audit trail, with the audit trail and an
Idempotency-Key on every request. CPU time (process_time, all threads) rather than wall
time, so other load on the machine does not count.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from services.common import service_app
from services.common.auth import Role
from services.common.settings import SERVICE_NAMES
from tests.unit.guard.conftest import start_services


async def cpu_ms_per_request(data_dir: Path, n: int = 300, *, with_key: bool = False) -> float:
    urls = {s: f"sqlite+aiosqlite:///{data_dir}/{s}.db" for s in SERVICE_NAMES}
    async for services in start_services(urls, data_dir):
        intake, headers = services.clients["intake"], services.auth(Role.CLERK)
        started = time.process_time()
        for i in range(n):
            sent = {**headers, "Idempotency-Key": f"k{i}"} if with_key else headers
            answer = await intake.post("/venues", json={"code": f"v-{i}", "name": "厅", "kind": "hall"}, headers=sent)
            assert answer.status_code == 201, answer.text
        result = (time.process_time() - started) / n * 1000
    return result


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        audited = await cpu_ms_per_request(Path(tmp, "audit"))
        keyed = await cpu_ms_per_request(Path(tmp, "key"), with_key=True)
        full = service_app.request_records
        service_app.request_records = lambda metadata, sessions: full(None, sessions)  # no tables: pass-through
        bare = await cpu_ms_per_request(Path(tmp, "bare"))
    print(f"CPU per POST /venues: without the guard's tables {bare:.1f} ms; with the audit trail {audited:.1f} ms; "
          f"with the audit trail and an Idempotency-Key {keyed:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
