"""No Docker engine runs here, so this checks that docker-compose.yml, the Dockerfiles
under deploy/, the settings and README agree: every service, port, environment variable
and search attribute named in one exists in the others."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from services.common.devstack import StackPorts
from services.common.search_attributes import ALL_KEYS
from services.common.settings import SERVICE_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS_VARS = {f"XIESHANG_{name.upper()}" for name in Settings.model_fields}


def compose_env(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    return dict(env)


def test_compose_runs_every_part() -> None:
    assert {"postgresql", "temporal", "temporal-ui", "temporal-search-attributes", "worker", *SERVICE_NAMES} <= set(
        SERVICES
    )


@pytest.mark.parametrize("service", [*SERVICE_NAMES, "worker"])
def test_every_xieshang_variable_in_compose_is_a_setting(service: str) -> None:
    names = {k for k in compose_env(service) if k.startswith("XIESHANG_")}
    assert names, f"{service} gets no XIESHANG_* settings"
    assert names <= SETTINGS_VARS, f"unknown settings in compose: {sorted(names - SETTINGS_VARS)}"
    # The service URLs and database URLs each process needs are all given.
    for other in SERVICE_NAMES:
        assert f"XIESHANG_{other.upper()}_URL" in names
    assert "XIESHANG_JWT_SECRET" in names and "XIESHANG_TEMPORAL_ADDRESS" in names


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_command_port_and_urls_agree(service: str) -> None:
    spec = SERVICES[service]
    command = " ".join(spec["command"])
    module = re.search(r"uvicorn (services\.\w+\.main):app", command).group(1)
    assert module == f"services.{service}.main"
    assert hasattr(importlib.import_module(module), "app")
    port = int(re.search(r"--port (\d+)", command).group(1))
    assert spec["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert port == StackPorts().service(service)  # the same fixed port as `make up`
    assert urlparse(Settings().service_url(service)).port == port
    for other in SERVICE_NAMES:
        url = urlparse(compose_env(service)[f"XIESHANG_{other.upper()}_URL"])
        assert (url.hostname, url.port) == (other, StackPorts().service(other))
    assert f"--service {service}" in command  # migrations before serving
    db = urlparse(compose_env(service)[f"XIESHANG_{service.upper()}_DATABASE_URL"])
    assert db.scheme == "postgresql+asyncpg" and db.path == f"/{service}"
    assert f"CREATE DATABASE {service};" in (ROOT / "deploy" / "postgres-init.sql").read_text()


@pytest.mark.parametrize("service", [*SERVICE_NAMES, "worker"])
def test_dockerfiles_exist_and_copy_real_paths(service: str) -> None:
    dockerfile = ROOT / SERVICES[service]["build"]["dockerfile"]
    assert dockerfile.parent == ROOT / "deploy" and dockerfile.exists()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"
    if service == "worker":
        assert '"-m", "workflows.worker"' in dockerfile.read_text()
        assert hasattr(importlib.import_module("workflows.worker"), "main")


def test_search_attributes_registered_in_compose_match_the_code() -> None:
    command = " ".join(SERVICES["temporal-search-attributes"]["command"])
    registered = dict(re.findall(r"--name (\w+) --type (\w+)", command))
    expected = {key.name: key.indexed_value_type.name.title().replace("_", "") for key in ALL_KEYS}
    expected = {k: {"Keywordlist": "KeywordList"}.get(v, v) for k, v in expected.items()}
    assert registered == expected


def test_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = sorted(v for v in SETTINGS_VARS if v not in readme)
    assert not missing, f"README.md does not document {missing}"
