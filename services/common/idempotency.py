"""Idempotency-Key: a retried write gets the first answer, for every route of every service.

One mechanism for the three services, applied to every POST, PUT, PATCH and DELETE by
the request guard (:mod:`services.common.writes`, wired in ``create_service_app``); no
route handles the header itself. A key belongs to

    (caller, method and route template, key)

where the caller is the token's role, department and subject (for a resident of the
public column: the resident identity of the token). Two departments, two residents or a
department and a clerk using the same key never meet: another caller's key is another
key. The request is fingerprinted by a hash of its path, query and body (JSON
canonicalised, a multipart boundary neutralised).

Order of operations for a request with the header:

1. *reserve*: insert (caller, route, key, fingerprint) with no answer and commit, in a
   transaction of its own, before the route runs; a key held already (or a concurrent
   twin) fails on the unique constraint, and its row is read;
2. a row that exists already decides: another fingerprint -> 422 problem (the key was
   reused for a different request); an answer stored -> that answer replayed, status,
   body and ``Location``, with ``Idempotent-Replayed: true``; no answer yet -> wait up to
   ``WAIT_FOR_TWIN`` for it, then 409 with ``Retry-After`` (still running);
3. the route runs;
4. a 2xx answer is stored with the reservation, and so is a 503 saying the record is
   stored and will be delivered (``will_be_delivered: true``); any other answer
   (refused, invalid, failed) releases the key, so the corrected retry can run. The
   guard commits this with the request's audit entry, in the request's session
   (:meth:`IdempotencyKeys.settle`).

A reservation left without an answer by a crashed process is taken over after
``STALE_AFTER``; the retry then runs the route again. The route's own commit and the
stored answer are two transactions, so where a crash between them must not create a
record twice, the record keeps a natural key of its domain (a workflow's ``event_key``,
a draw's (consultation, round)).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import UTCDateTime, utcnow
from .problems import PROBLEM_BASE, Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
STALE_AFTER = timedelta(minutes=2)
WAIT_FOR_TWIN = 2.0  # seconds a duplicate waits for the first request's answer
REPLAYED_HEADERS = ("content-type", "location")
TABLE_NAME = "idempotency_keys"


def idempotency_table(metadata: MetaData) -> Table:
    """The service's table of keys and stored answers."""
    return Table(
        TABLE_NAME,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("caller", String(200), nullable=False),
        Column("route", String(300), nullable=False),  # "POST /commitments/{commitment_id}/completion"
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("request_hash", String(64), nullable=False),
        # Null while the first request runs.
        Column("status", Integer, nullable=True),
        Column("headers", Text, nullable=True),  # JSON object of REPLAYED_HEADERS
        Column("body", LargeBinary, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        UniqueConstraint("caller", "route", "key", name="uq_idempotency_keys_caller_route_key"),
    )


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def with_replay_header(self) -> StoredAnswer:
        return StoredAnswer(self.status, {**self.headers, "idempotent-replayed": "true"}, self.body)


def validate_key(key: str) -> str:
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        rule = "string_too_short" if not key.strip() else "string_too_long"
        message = "must not be blank" if not key.strip() else f"at most {MAX_KEY_LENGTH} characters"
        raise Problem(
            422, "Invalid request", f"{HEADER}: {message}.", type_=PROBLEM_BASE + "validation",
            errors=[{"field": HEADER, "rule": rule, "message": message}],
        )
    return key


def fingerprint(path: str, query: str, content_type: str, body: bytes) -> str:
    """A hash of what makes two requests the same request: path, query and body.

    JSON bodies are canonicalised (key order and spacing do not matter); a multipart
    body's random boundary is replaced, so a re-sent upload of the same file matches.
    """
    if "json" in content_type:
        try:
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        except ValueError:
            pass  # invalid JSON: the route answers 422; hash the bytes
    elif content_type.startswith("multipart/") and "boundary=" in content_type:
        boundary = content_type.split("boundary=", 1)[1].split(";", 1)[0].strip().strip('"')
        if boundary:
            body = body.replace(boundary.encode(), b"BOUNDARY")
    canonical_query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    digest = hashlib.sha256()
    for part in (path.encode(), canonical_query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def kept(answer: StoredAnswer) -> bool:
    """Whether an answer is replayed to retries: a 2xx, or an answer saying the record is
    stored and will be delivered (503 ``will_be_delivered: true``: "no need to resend"),
    so a retry gets that answer instead of storing the record twice."""
    if 200 <= answer.status < 300:
        return True
    if "json" not in answer.headers.get("content-type", ""):
        return False
    try:
        body = json.loads(answer.body)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stored") is True and body.get("will_be_delivered") is True


class IdempotencyKeys:
    """Reserve keys in one service's table, then settle them (store the answer or release
    the key) in the transaction of the write they guard."""

    def __init__(self, table: Table, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.table = table
        self.sessions = sessions

    def _row(self, caller: str, route: str, key: str) -> Any:
        t = self.table
        return (t.c.caller == caller) & (t.c.route == route) & (t.c.key == key)

    async def reserve(
        self, caller: str, route: str, key: str, request_hash: str, *, session: AsyncSession | None = None,
    ) -> StoredAnswer | None:
        """None: this request holds the key and runs. Otherwise the answer to replay.
        Raises 422 (another request under this key) or 409 (still running).

        The reservation commits at once, in ``session`` (the request's, from the guard)
        or a session of its own: a twin sees it before the route starts, and no lock is
        held while the route runs (on SQLite one uncommitted insert would hold the
        database's only write lock through the route's reads and Temporal calls)."""
        deadline = asyncio.get_running_loop().time() + WAIT_FOR_TWIN
        while True:
            if session is None:
                async with self.sessions() as own:
                    held = await self._try_reserve(own, caller, route, key, request_hash)
            else:
                try:
                    held = await self._try_reserve(session, caller, route, key, request_hash)
                finally:
                    await session.rollback()  # no read transaction kept between tries or after
            if held is _RESERVED:
                return None
            if isinstance(held, StoredAnswer):
                return held
            if held is _RUNNING:
                if asyncio.get_running_loop().time() >= deadline:
                    raise Problem(
                        409, "Request in progress",
                        f"A request with {HEADER} '{key}' is still being processed; retry shortly.",
                        type_=PROBLEM_BASE + "request-in-progress", headers={"Retry-After": "1"},
                    )
                await asyncio.sleep(0.05)
            # _FREED: released or taken over meanwhile: try again at once

    async def _try_reserve(
        self, session: AsyncSession, caller: str, route: str, key: str, request_hash: str,
    ) -> StoredAnswer | object:
        try:  # the common case first: a new key, one INSERT
            await session.execute(insert(self.table).values(
                caller=caller, route=route, key=key, request_hash=request_hash, created_at=utcnow(),
            ))
            await session.commit()
            return _RESERVED
        except IntegrityError:
            await session.rollback()  # the key is held: read its row
        row = (await session.execute(select(self.table).where(self._row(caller, route, key)))).first()
        if row is None:
            return _FREED
        if row.request_hash != request_hash:
            raise Problem(
                422, "Idempotency key reused",
                f"{HEADER} '{key}' was already used for a different request to {route}; "
                "send a new key for a new request.",
                type_=PROBLEM_BASE + "idempotency-key-reused", field=HEADER,
                errors=[{"field": HEADER, "rule": "one_request_per_key",
                         "message": "already used for a different request to this route"}],
            )
        if row.status is not None:
            return StoredAnswer(row.status, json.loads(row.headers or "{}"), row.body or b"").with_replay_header()
        if utcnow() - row.created_at > STALE_AFTER:
            # The process that reserved it died mid-request; nothing was answered.
            await session.execute(delete(self.table).where(self.table.c.id == row.id))
            await session.commit()
            return _FREED
        return _RUNNING

    async def settle(self, session: AsyncSession, caller: str, route: str, key: str, answer: StoredAnswer | None) -> None:
        """In ``session``'s transaction, not committed: store a kept answer (:func:`kept`)
        for replays; release the key otherwise (``None``: the route failed)."""
        where = self._row(caller, route, key) & self.table.c.status.is_(None)
        if answer is not None and kept(answer):
            await session.execute(update(self.table).where(where).values(
                status=answer.status, headers=json.dumps(answer.headers), body=answer.body,
            ))
        else:
            await session.execute(delete(self.table).where(where))


# What one try at reserving found.
_RESERVED, _RUNNING, _FREED = object(), object(), object()
