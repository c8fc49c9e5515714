"""The request guard: what happens around every state-changing request of a service.

One ASGI middleware, added by ``create_service_app`` to the three services, wraps every
POST, PUT, PATCH and DELETE that reaches a route:

1. the route template is found (``POST /commitments/{commitment_id}/completion``) and
   the caller is read from the bearer token; a request without a valid token goes
   straight to the route, which answers 401 — nothing is reserved or recorded for it;
2. with an ``Idempotency-Key`` the key is reserved or its first answer replayed
   (:mod:`services.common.idempotency`; a replay changes nothing and is not recorded);
3. the route runs; its answer is held until
4. a 2xx answer is stored for the key (any other releases it), and
5. one entry is appended to the audit trail (:mod:`services.common.audit`): who, role,
   what, when, resource ids, outcome — 4 and 5 in one transaction — then the answer
   goes out.

So an answer a client sees has its audit entry already; a write whose audit entry cannot
be appended still answers (the effect is committed), its key is settled on its own and
the failure is logged.

The request has one database session, opened here: the reservation commits in it, the
route gets it from ``services.common.db.get_session`` (through ``request.state``) and
commits its own work in it, and step 4–5 commit in it last. Per keyed write that is three
commits (reservation, route, answer with audit entry) where separate sessions took four,
and the guard no longer opens a session per step. The reservation stays a transaction
of its own, committed before the route runs: a twin must see it at once, and an
uncommitted reservation would hold SQLite's single write lock through everything the
route does before its first commit (reads, Temporal calls, a draw's computation).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .audit import HEAD_TABLE, LOG_TABLE, AuditEntry, AuditTrail
from .auth import GUARDED_PRINCIPAL, Principal, Role, decode_token
from .db import GUARDED_SESSION
from .idempotency import (
    HEADER,
    TABLE_NAME,
    IdempotencyKeys,
    StoredAnswer,
    fingerprint,
    validate_key,
)
from .problems import PROBLEM_JSON, Problem, slug
from .settings import get_settings

log = structlog.get_logger()

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The guard holds a write's body to fingerprint it: larger bodies are refused (413)
# before they are read whole (the largest legitimate one: a 10 MB people import).
MAX_BODY_BYTES = 12 * 1024 * 1024


@dataclass
class RequestRecords:
    """A service's idempotency keys and audit trail, bound to its sessions."""

    keys: IdempotencyKeys | None = None
    audit: AuditTrail | None = None
    sessions: async_sessionmaker[AsyncSession] | None = field(default=None)


def request_records(metadata: MetaData | None, sessions: async_sessionmaker[AsyncSession]) -> RequestRecords:
    """The guard's tables from the service's metadata (each service adds them with
    ``idempotency_table`` and ``audit_tables``)."""
    tables = metadata.tables if metadata is not None else {}
    keys = IdempotencyKeys(tables[TABLE_NAME], sessions) if TABLE_NAME in tables else None
    audit = AuditTrail(tables[LOG_TABLE], tables[HEAD_TABLE]) if LOG_TABLE in tables and HEAD_TABLE in tables else None
    return RequestRecords(keys=keys, audit=audit, sessions=sessions)


def caller_of(principal: Principal) -> str:
    """The idempotency scope of a caller: role, department and subject (a resident's
    token subject is their identity in the public column)."""
    caller = f"{principal.role.value}|{principal.department or ''}|{principal.subject}"
    return caller if len(caller) <= 200 else principal.role.value + "|" + hashlib.sha256(caller.encode()).hexdigest()


def audited_caller(principal: Principal) -> str:
    """Who, for the audit trail: staff and services by account; a resident by a pseudonym."""
    if principal.role is Role.PUBLIC:
        return "resident:" + hashlib.sha256(principal.subject.encode()).hexdigest()[:16]
    who = principal.subject
    return f"{principal.department}/{who}" if principal.department else who


@dataclass(frozen=True)
class ApiRoute:
    """One route as the app serves it: methods, full path template, its dependencies."""

    methods: frozenset[str]
    path: str
    dependant: Any
    regex: re.Pattern[str]


def api_routes(app: Any) -> list[ApiRoute]:
    """Every API route of ``app`` with its full template, in routing order (included
    routers flattened), computed once per app."""
    cached = getattr(app.state, "api_routes", None)
    if cached is not None:
        return cached
    try:
        from fastapi.routing import iter_route_contexts

        contexts = [(c.original_route, c.path) for c in iter_route_contexts(app.routes)]
    except ImportError:  # FastAPI before included-router contexts: routes are flat
        contexts = [(r, getattr(r, "path", None)) for r in app.routes]
    routes = [
        ApiRoute(frozenset(getattr(route, "methods", None) or ()), path, route.dependant, compile_path(path)[0])
        for route, path in contexts
        if path is not None and getattr(route, "dependant", None) is not None
    ]
    app.state.api_routes = routes
    return routes


def route_of(app: Any, scope: Scope) -> tuple[str, dict[str, Any]] | None:
    """The template and path parameters of the route that will answer, if one does."""
    for route in api_routes(app):
        if scope["method"] in route.methods and (match := route.regex.match(scope["path"])):
            return route.path, match.groupdict()
    return None


def resource_of(path_params: dict[str, Any], status: int, body: bytes, content_type: str) -> str:
    """Path ids, plus the id of what a 2xx answer created or returned."""
    parts = [f"{name}={str(value)[:60]}" for name, value in path_params.items()]
    if 200 <= status < 300 and "json" in content_type and body:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), (int, str)):
            parts.append(f"id={str(answer['id'])[:60]}")
    return " ".join(parts) or "-"


def _principal(app: Any, headers: dict[str, str]) -> tuple[str, Principal] | None:
    """The bearer token and who it names, or None (the route answers 401 itself)."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    settings = getattr(app.state, "settings", None) or get_settings()
    token = token.strip()
    try:
        return token, decode_token(settings, token)
    except Problem:
        return None


def _problem_answer(problem: Problem, path: str) -> StoredAnswer:
    body: dict[str, Any] = {
        "type": problem.type or slug(problem.title), "title": problem.title, "status": problem.status, "instance": path,
    }
    if problem.detail:
        body["detail"] = problem.detail
    # Bound by services.common.request_guard, which runs around this guard.
    if request_id := structlog.contextvars.get_contextvars().get("request_id"):
        body["request_id"] = request_id
    body.update(problem.extra)
    headers = {"content-type": PROBLEM_JSON, **{k.lower(): v for k, v in problem.headers.items()}}
    return StoredAnswer(problem.status, headers, json.dumps(body, ensure_ascii=False).encode())


async def _send_answer(send: Send, answer: StoredAnswer) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class WriteGuard:
    """ASGI middleware: idempotency and audit for every write (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        records: RequestRecords | None = getattr(app.state, "request_records", None)
        found = route_of(app, scope)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        bearer = _principal(app, headers) if found and records and records.sessions else None
        if records is None or records.sessions is None or found is None or bearer is None:
            await self.app(scope, receive, send)
            return
        # The route's current_principal takes it from here rather than decoding again.
        scope.setdefault("state", {})[GUARDED_PRINCIPAL] = bearer
        principal = bearer[1]
        template, path_params = found
        action = f"{scope['method']} {template}"
        caller = caller_of(principal)
        # One session for the request: the key, the route (get_session hands it over) and
        # the stored answer with the audit entry.
        async with records.sessions() as session:
            answer = await self._guarded(scope, receive, headers, records, session, caller, action, principal,
                                         path_params)
        await _send_answer(send, answer)

    async def _guarded(self, scope: Scope, receive: Receive, headers: dict[str, str], records: RequestRecords,
                       session: AsyncSession, caller: str, action: str, principal: Principal,
                       path_params: dict[str, Any]) -> StoredAnswer:
        key = headers.get(HEADER.lower())
        try:
            body = await _read_body(receive)
            if key is not None and records.keys is not None:
                validate_key(key)
                request_hash = fingerprint(
                    scope["path"], scope.get("query_string", b"").decode("latin-1"), headers.get("content-type", ""), body
                )
                replay = await records.keys.reserve(caller, action, key, request_hash, session=session)
                if replay is not None:
                    return replay
            else:
                key = None
        except Problem as problem:
            answer = _problem_answer(problem, scope["path"])
            await self._settle(session, records, principal, action, path_params, answer, caller, None)
            return answer

        scope.setdefault("state", {})[GUARDED_SESSION] = session
        try:
            answer = await self._run(scope, receive, body)
        except BaseException:
            await session.rollback()
            await self._settle(session, records, principal, action, path_params, None, caller, key)
            raise
        # What the route left uncommitted (a refusal after changes) is not part of its
        # answer: get_session's own session would have rolled it back on closing.
        await session.rollback()
        await self._settle(session, records, principal, action, path_params, answer, caller, key)
        return answer

    async def _run(self, scope: Scope, receive: Receive, body: bytes) -> StoredAnswer:
        """Run the route with the buffered body; hold its answer. After the body, the
        route's receive is the client's again (a disconnect is seen as one)."""
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status, out_headers, chunks = 500, {}, []

        async def hold(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = {}
                for k, v in message.get("headers", []):
                    name = k.decode("latin-1").lower()
                    if name != "content-length":
                        out_headers[name] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay_body, hold)
        return StoredAnswer(status, out_headers, b"".join(chunks))

    async def _settle(self, session: AsyncSession, records: RequestRecords, principal: Principal, action: str,
                      path_params: dict[str, Any], answer: StoredAnswer | None, caller: str, key: str | None) -> None:
        """The key's outcome (answer kept, or released; ``answer`` None: the route raised)
        and the audit entry, committed together. An audit entry that cannot be appended
        does not hold back the answer (the route's effect is committed): the key is
        settled alone and the failure logged."""
        outcome = answer or StoredAnswer(500, {}, b"")
        keys = records.keys if key is not None else None

        async def settle_key() -> None:
            if keys is not None and key is not None:
                await keys.settle(session, caller, action, key, answer)

        if records.audit is None:
            if keys is not None:
                await settle_key()
                await session.commit()
            return
        entry = AuditEntry(
            caller=audited_caller(principal),
            role=principal.role.value,
            action=action,
            resource=resource_of(path_params, outcome.status, outcome.body, outcome.headers.get("content-type", "")),
            outcome=outcome.status,
        )
        try:
            await records.audit.append(session, entry, with_it=settle_key)
            return
        except Exception as exc:  # noqa: BLE001 - the effect is committed: answer, and say so in the log
            await session.rollback()
            log.error("audit.append_failed", action=action, outcome=outcome.status, error=type(exc).__name__)
        if keys is not None:
            await settle_key()
            await session.commit()


async def _read_body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Problem(413, "Content Too Large", f"A request body may have at most {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def write_routes(app: FastAPI) -> Iterable[tuple[str, ApiRoute]]:
    """(method, route) of every state-changing route of ``app``."""
    for route in api_routes(app):
        for method in sorted(route.methods & WRITE_METHODS):
            yield method, route
