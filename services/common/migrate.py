"""Alembic migrations, one history per service, applied programmatically.

Each service keeps its migrations beside its models (services/<name>/migrations); their
env.py calls :func:`run_migrations` so the async plumbing lives in one place.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from .db import UTCDateTime, ensure_sqlite_folder
from .settings import SERVICE_NAMES, ServiceName, Settings

_SERVICES_DIR = Path(__file__).resolve().parent.parent


def alembic_config(service: ServiceName, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: ServiceName, url: str, revision: str = "head") -> None:
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(service, url), revision)


def upgrade_all(settings: Settings, services: tuple[ServiceName, ...] = SERVICE_NAMES) -> None:
    for service in services:
        upgrade(service, settings.database_url(service))


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations name plain SQLAlchemy types, so they never import application code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py."""
    cfg = context.config
    if context.is_offline_mode():
        context.configure(url=cfg.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                          literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        # render_as_batch: SQLite can only ALTER tables by copying them.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, render_item=_render_item
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = async_engine_from_config(
            cfg.get_section(cfg.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
