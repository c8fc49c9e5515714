"""Async SQLAlchemy engines and sessions; each service owns one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar
from pathlib import Path

from fastapi import Depends, Request
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Metadata with stable constraint names, so Alembic diffs agree on both backends."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str) -> AsyncEngine:
    if make_url(url).get_backend_name() == "sqlite":
        ensure_sqlite_folder(url)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            # WAL lets readers run beside the writer; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Where the request guard leaves a write's session for the route (``request.state``).
GUARDED_SESSION = "write_session"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, rolled back unless committed.

    A write under the request guard (services/common/writes.py) gets the guard's session:
    its key reservation, the route's transactions and the stored answer with the audit
    entry then share one session, and the guard rolls back what the route left
    uncommitted and closes it."""
    guarded = getattr(request.state, GUARDED_SESSION, None)
    if guarded is not None:
        yield guarded
        return
    async with request.app.state.sessions() as session:
        yield session


# A route's parameter for its request's session (every service's routes).
Session = Annotated[AsyncSession, Depends(get_session)]


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite keeps no time zone, so a naive value read back is UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


Row = TypeVar("Row")


async def insert_once(
    session: AsyncSession,
    row: Row,
    key_column: Any,
    key: str | None,
    *,
    with_it: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Row, bool]:
    """Commit ``row`` unless a row whose ``key_column`` equals ``key`` exists already.

    Returns the row that holds the key and whether this call created it. A concurrent
    insert with the same key loses on the unique constraint and gets the winner's row, so
    a retried request never stores twice. ``with_it`` adds what must be committed in the
    same transaction (e.g. the notification an escalation causes).
    """
    model = type(row)

    async def holder() -> Any:
        return await session.scalar(select(model).where(key_column == key))

    if key is not None and (existing := await holder()) is not None:
        return existing, False
    session.add(row)
    if with_it is not None:
        await with_it()
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if key is None or (existing := await holder()) is None:
            raise
        return existing, False
    return row, True
