"""The same slice against docker-compose.yml, brought up by testcontainers.

Runs only where a Docker engine answers; elsewhere it is skipped with that reason
(tests/unit/test_deploy_agrees_with_code.py still checks compose against the code).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from services.common.auth import Role, mint_token
from services.common.settings import Settings
from tests.e2e.test_walking_skeleton import KINDERGARTEN, eventually

ROOT = Path(__file__).resolve().parents[2]


def docker_engine_missing() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client installed"
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "docker info timed out: no Docker engine answers"
    if probe.returncode != 0:
        return "no Docker engine answers `docker info` (only the client is installed here)"
    return None


_missing = docker_engine_missing()


@pytest.mark.e2e
@pytest.mark.skipif(_missing is not None, reason=f"docker-compose e2e needs a Docker engine: {_missing}")
def test_compose_stack_serves_the_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    from testcontainers.compose import DockerCompose

    secret = secrets.token_urlsafe(40)
    monkeypatch.setenv("XIESHANG_JWT_SECRET", secret)
    settings = Settings(jwt_secret=secret)
    clerk = {"Authorization": "Bearer " + mint_token(settings, role=Role.CLERK, subject="compose-test")}
    with DockerCompose(str(ROOT), compose_file_name="docker-compose.yml", build=True, wait=False) as compose:
        eventually(
            lambda: _ready("http://127.0.0.1:8001/readyz"), timeout=600, what="intake ready in compose"
        )
        topic = httpx.post("http://127.0.0.1:8001/topics", json=KINDERGARTEN, headers=clerk).json()
        stage = eventually(
            lambda: httpx.get(f"http://127.0.0.1:8001/topics/{topic['id']}", headers=clerk).json()["stage"]
            == "submitted",
            timeout=60,
            what="stage submitted",
        )
        assert stage
        assert compose  # the context manager tears everything down


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
