"""The outermost layer of every service (pure ASGI): a request id, a guard over what no
route may receive, and a 500 that never closes the connection.

Order of operations for each HTTP request:

1. The request id is the caller's ``X-Request-ID`` when it is a short token, otherwise a
   new one; it is bound to every log line of the request and answered in
   ``X-Request-ID``.
2. The path and query string are refused (422) when they contain a character
   PostgreSQL cannot store (NUL, U+0000).
3. A JSON body is read (at most ``MAX_JSON_BODY_BYTES``, else 413) and walked once,
   without recursion: every key and string is refused (422) when it holds NUL or a lone
   surrogate; nesting deeper than ``MAX_JSON_DEPTH``, numbers outside ±(2^31−1) (no
   id, count or quantity of this domain is larger; an INTEGER column is not) and
   non-finite numbers (NaN, Infinity) are refused (422). The route then receives the
   same bytes. A body that is not valid JSON is left to FastAPI (422 ``json_invalid``).
4. An exception no handler turned into a response is logged with the request id, the
   exception's type and the code locations it passed (never its message or values,
   which can carry personal data), and answered as a problem+json 500 carrying the
   request id. The exception is not re-raised, so the server keeps the keep-alive
   connection open.

Why here and not per field: these rules hold for every text and number of every
service; a field that forgets them would be a 500 on PostgreSQL (docs/errors.md).
"""

from __future__ import annotations

import json
import math
import re
import traceback
import uuid
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import PROBLEM_BASE, PROBLEM_JSON

log = structlog.get_logger()

MAX_JSON_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_INTEGER = 2**31 - 1
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RefusedInput(Exception):
    def __init__(self, field: str, rule: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.rule, self.message, self.status = field, rule, message, status


def unstorable_text(value: str) -> str | None:
    """Why PostgreSQL could not store ``value`` (NUL or a lone surrogate); None if it can."""
    if "\x00" in value:
        return "contains NUL (U+0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not valid Unicode text"
    return None


def _walk(document: Any) -> None:
    """Refuse what no field may hold, anywhere in a parsed JSON document."""
    stack: list[tuple[Any, str, int]] = [(document, "body", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict):
            if depth + 1 > MAX_JSON_DEPTH:
                raise RefusedInput(where, "json_depth", f"nested more than {MAX_JSON_DEPTH} levels deep")
            for key, item in value.items():
                if (why := unstorable_text(key)) is not None:
                    raise RefusedInput(where, "unstorable_text", f"a key {why}")
                stack.append((item, f"{where}.{key}" if where != "body" else key, depth + 1))
        elif isinstance(value, list):
            if depth + 1 > MAX_JSON_DEPTH:
                raise RefusedInput(where, "json_depth", f"nested more than {MAX_JSON_DEPTH} levels deep")
            stack.extend((item, f"{where}.{i}", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            if (why := unstorable_text(value)) is not None:
                raise RefusedInput(where, "unstorable_text", why)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, float) and not math.isfinite(value):
            raise RefusedInput(where, "finite_number", "a number must be finite (no NaN or Infinity)")
        elif isinstance(value, (int, float)) and not -MAX_INTEGER <= value <= MAX_INTEGER:
            # Floats too: 1e20 is an integer to a lax int field, and no quantity here is larger.
            raise RefusedInput(where, "number_range", f"a number lies within ±{MAX_INTEGER}")


def _check_url(scope: Scope) -> None:
    if "\x00" in scope.get("path", ""):
        raise RefusedInput("path", "unstorable_text", "contains NUL (U+0000), which cannot be stored")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        for text in (name, value):
            if (why := unstorable_text(text)) is not None:
                raise RefusedInput(name if unstorable_text(name) is None else "query", "unstorable_text", why)


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media == "application/json" or media.endswith("+json")
    return False


def _problem(status: int, title: str, detail: str, instance: str, request_id: str, **extra: Any) -> tuple[bytes, list]:
    body: dict[str, Any] = {
        "type": extra.pop("type_", None) or PROBLEM_BASE + "-".join(title.lower().split()),
        "title": title,
        "status": status,
        "instance": instance,
        "detail": detail,
        "request_id": request_id,
        **extra,
    }
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(raw)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    return raw, headers


def _refused(exc: RefusedInput, instance: str, request_id: str) -> tuple[int, bytes, list]:
    if exc.status == 413:
        raw, headers = _problem(413, "Payload Too Large", exc.message, instance, request_id)
        return 413, raw, headers
    errors = [{"field": exc.field, "rule": exc.rule, "message": exc.message}]
    raw, headers = _problem(
        422, "Invalid request", f"{exc.field}: {exc.message} ({exc.rule})", instance, request_id,
        type_=PROBLEM_BASE + "validation", errors=errors,
    )
    return 422, raw, headers


def _code_path(exc: BaseException) -> list[str]:
    """Where the exception passed, as file:line:function (no message, no values): the
    project's own frames, then the innermost two."""
    frames = traceback.extract_tb(exc.__traceback__)

    def name(frame: traceback.FrameSummary) -> str:
        path = frame.filename.replace("\\", "/")
        for root in ("/services/", "/workflows/"):
            if root in path:
                path = root.strip("/") + "/" + path.split(root, 1)[1]
                break
        else:
            path = path.rsplit("/", 1)[-1]
        return f"{path}:{frame.lineno}:{frame.name}"

    own = [name(f) for f in frames if "/services/" in f.filename or "/workflows/" in f.filename]
    return [*own[-8:], *(name(f) for f in frames[-2:])]


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"), ""
        )
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        instance = scope.get("path", "").replace("\x00", "")
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        async def answer(status: int, raw: bytes, headers: list) -> None:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": raw})

        try:
            try:
                _check_url(scope)
                if _is_json(scope):
                    receive = await _checked_body(receive)
            except RefusedInput as exc:
                await answer(*_refused(exc, instance, request_id))
                return
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                log.error(
                    "request.unexpected_error",
                    method=scope.get("method"),
                    route=_route_template(scope),
                    error=type(exc).__name__,
                    at=_code_path(exc),
                )
                if started:
                    raise  # half a response was sent: only closing the connection can end it
                raw, headers = _problem(
                    500, "Internal Server Error",
                    f"An unexpected error occurred; quote request id {request_id} to the operators.",
                    instance, request_id,
                )
                await answer(500, raw, headers)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


def _route_template(scope: Scope) -> str | None:
    # The matched route's template (/commitments/{commitment_id}), never the raw path.
    route = scope.get("route")
    return getattr(route, "path", None)


async def _checked_body(receive: Receive) -> Receive:
    """Read the whole JSON body, check it, and hand the same bytes on."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _replay([message], receive)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_JSON_BODY_BYTES:
            raise RefusedInput("body", "body_size", f"a JSON body is at most {MAX_JSON_BODY_BYTES} bytes", 413)
        chunks.append(chunk)
        more = message.get("more_body", False)
    raw = b"".join(chunks)
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        document = None  # not JSON (or nested past the parser): FastAPI answers 422 json_invalid
        if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _deeper_than(raw, MAX_JSON_DEPTH):
            raise RefusedInput("body", "json_depth", f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    if document is not None:
        _walk(document)
    return _replay([{"type": "http.request", "body": raw, "more_body": False}], receive)


def _deeper_than(raw: bytes, limit: int) -> bool:
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _replay(messages: list[Message], then: Receive) -> Receive:
    """The messages already read, then whatever the client sends next (a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
