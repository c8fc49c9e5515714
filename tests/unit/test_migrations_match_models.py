"""Each service's Alembic history builds exactly the schema its models describe."""

from __future__ import annotations

import pytest
from alembic import command

from services.common.migrate import alembic_config
from services.common.settings import SERVICE_NAMES


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_upgrade_then_no_pending_model_changes(service: str, tmp_path) -> None:
    cfg = alembic_config(service, f"sqlite+aiosqlite:///{tmp_path}/{service}.db")

    command.upgrade(cfg, "head")
    command.check(cfg)  # raises if models and migrations disagree
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
