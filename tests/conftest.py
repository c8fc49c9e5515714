"""Session fixtures: one real stack per database backend.

`make test` runs every e2e test on SQLite and on PostgreSQL. PostgreSQL comes from
XIESHANG_TEST_POSTGRES_URL (default: the local server, user postgres); each run creates
fresh databases and drops them afterwards. Where it is unreachable the PostgreSQL half is
skipped with the reason, except under CI, where it must be there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.stack import (
    Stack,
    create_postgres_databases,
    drop_postgres_databases,
    postgres_unreachable_reason,
    start_stack,
)

_pg_reason: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _pg_reason
    _pg_reason = postgres_unreachable_reason()


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _pg_reason is None:
        return ["e2e backends: sqlite, postgresql (reachable; fresh databases per run)"]
    return [f"e2e backends: sqlite only — {_pg_reason}"]


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"stack-{backend}")
    pg_urls: dict[str, str] = {}
    if backend == "postgresql":
        if _pg_reason is not None:
            if _ci():
                pytest.fail(f"CI must run the e2e path on PostgreSQL: {_pg_reason}")
            pytest.skip(_pg_reason)
        pg_urls = create_postgres_databases(f"xs_{uuid.uuid4().hex[:10]}")
        urls = pg_urls
    else:
        urls = {s: f"sqlite+aiosqlite:///{data_dir}/{s}.db" for s in ("intake", "talent", "evaluation")}
    try:
        running = start_stack(backend, data_dir, urls)
        print(f"\n[e2e] stack on {backend}: intake {running.url('intake')}, Temporal {running.temporal_address}")
        try:
            yield running
        finally:
            running.devstack.stop()
            running.webhook.close()
    finally:
        if pg_urls:
            drop_postgres_databases(pg_urls)
