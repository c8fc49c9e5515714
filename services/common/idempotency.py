"""Idempotency-Key for POST endpoints: a retried request gets the first answer.

A client (or an activity) that lost the answer to a POST sends the same request again
with the same ``Idempotency-Key`` header. The first request *reserves* the key
(principal, key) in the service's own database and commits before doing anything else;
when it finishes, the answer (status and JSON body) is stored with the reservation.

- same key, same principal, same method+path, same body: the stored answer is replayed
  (with ``Idempotent-Replayed: true``), nothing is created twice;
- same key with a different body or path: 422 problem (the key was reused by mistake);
- same key while the first request is still running: 409 problem, retry later;
- a request that fails (any error) releases its key, so the corrected retry can run.

A reservation left behind by a crashed process is taken over after ``STALE_AFTER``.
Without the header an endpoint runs normally (callers that cannot retry safely should
send one). Keys are scoped to the principal, so two callers never see each other's
answers.

Each service adds the table to its own metadata with :func:`idempotency_table`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import Principal
from .db import UTCDateTime, utcnow
from .problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
STALE_AFTER = timedelta(minutes=2)


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("principal", String(120), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("method_path", String(300), nullable=False),
        Column("request_hash", String(64), nullable=False),
        # Null while the first request runs.
        Column("status", Integer, nullable=True),
        Column("body", Text, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        UniqueConstraint("principal", "key", name="uq_idempotency_keys_principal_key"),
    )


@dataclass(frozen=True)
class IdempotentRequest:
    key: str | None
    method_path: str
    request_hash: str


async def idempotent_request(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=MAX_KEY_LENGTH,
            description="Any unique string (a UUID); a retry with the same key returns the first answer",
        ),
    ] = None,
) -> IdempotentRequest:
    body = await request.body()  # Starlette caches it; the route still parses it
    digest = hashlib.sha256(body).hexdigest()
    if idempotency_key is not None and not idempotency_key.strip():
        raise Problem(
            422, "Invalid request", f"{HEADER}: must not be blank.", type_="https://xieshang.example/problems/validation",
            errors=[{"field": HEADER, "rule": "string_too_short", "message": "must not be blank"}],
        )
    return IdempotentRequest(key=idempotency_key, method_path=f"{request.method} {request.url.path}", request_hash=digest)


Idempotency = Annotated[IdempotentRequest, Depends(idempotent_request)]


async def run_idempotent(
    session: AsyncSession,
    table: Table,
    idem: IdempotentRequest,
    principal: Principal,
    handler: Callable[[], Awaitable[tuple[int, BaseModel | dict[str, Any]]]],
) -> JSONResponse:
    """Run ``handler`` once per (principal, key); it returns (status, body)."""
    if idem.key is None:
        status, body = await handler()
        return JSONResponse(_jsonable(body), status_code=status)
    owner = f"{principal.role.value}:{principal.subject}"[:120]
    replay = await _reserve(session, table, idem, owner)
    if replay is not None:
        return replay
    try:
        status, body = await handler()
    except BaseException:
        await session.rollback()
        await session.execute(delete(table).where(table.c.principal == owner, table.c.key == idem.key))
        await session.commit()
        raise
    payload = _jsonable(body)
    await session.execute(
        update(table)
        .where(table.c.principal == owner, table.c.key == idem.key)
        .values(status=status, body=json.dumps(payload, ensure_ascii=False))
    )
    await session.commit()
    return JSONResponse(payload, status_code=status)


def _jsonable(body: BaseModel | dict[str, Any]) -> Any:
    return body.model_dump(mode="json") if isinstance(body, BaseModel) else body


async def _reserve(session: AsyncSession, table: Table, idem: IdempotentRequest, owner: str) -> JSONResponse | None:
    for _ in range(2):
        row = (
            await session.execute(select(table).where(table.c.principal == owner, table.c.key == idem.key))
        ).first()
        if row is None:
            try:
                await session.execute(
                    insert(table).values(
                        principal=owner,
                        key=idem.key,
                        method_path=idem.method_path,
                        request_hash=idem.request_hash,
                        created_at=utcnow(),
                    )
                )
                await session.commit()
                return None
            except IntegrityError:
                await session.rollback()  # a concurrent request took the key: read its row
                continue
        if row.method_path != idem.method_path or row.request_hash != idem.request_hash:
            raise Problem(
                422,
                "Idempotency key reused",
                f"{HEADER} '{idem.key}' was already used for a different request "
                f"({row.method_path}); send a new key for a new request.",
                field=HEADER,
            )
        if row.status is not None:
            return JSONResponse(
                json.loads(row.body) if row.body else None,
                status_code=row.status,
                headers={"Idempotent-Replayed": "true"},
            )
        if utcnow() - row.created_at > STALE_AFTER:
            # The process that reserved it died mid-request; nothing was answered.
            await session.execute(delete(table).where(table.c.id == row.id))
            await session.commit()
            continue
        raise Problem(
            409,
            "Request in progress",
            f"A request with {HEADER} '{idem.key}' is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )
    raise Problem(409, "Request in progress", f"{HEADER} '{idem.key}' is contended; retry shortly.")
