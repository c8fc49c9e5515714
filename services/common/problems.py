"""RFC 9457 problem details for every error a service returns.

Validation errors name the field and the rule that failed, so a clerk's client can show
the message next to the right input.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://xieshang.example/problems/"


class Problem(Exception):
    """An error that is the caller's to fix (4xx) or the system's (5xx)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or slug(title)
        self.headers = headers or {}
        self.extra = extra


def slug(title: str) -> str:
    return PROBLEM_BASE + "-".join(title.lower().split())


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or slug(title),
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    # Bound by services.common.request_guard for the whole request: the id a caller
    # quotes to find the request's log lines.
    if request_id := structlog.contextvars.get_contextvars().get("request_id"):
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "title") -> "title"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        request, exc.status, exc.title, exc.detail, type_=exc.type, headers=exc.headers, **exc.extra
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    # RequestValidationError: FastAPI's check of the request. ValidationError: a guard that
    # checks what the service derives from the request (e.g. an escalation's summary
    # carried into a notification, which must hold no contact data) refused it; the
    # cause is still the caller's input, so it is a 422 naming the rule, never a 500.
    assert isinstance(exc, (RequestValidationError, ValidationError))
    errors = [
        {"field": _field_path(tuple(e.get("loc", ()))), "rule": e.get("type"), "message": e.get("msg")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']} ({e['rule']})" for e in errors)
    return problem_response(
        request, 422, "Invalid request", detail, type_=PROBLEM_BASE + "validation", errors=errors
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route whose path matched; a path
        # served by several routes (GET and POST /topics) allows all of theirs.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(request, exc.status_code, title, detail, headers=headers or None)


def _allowed_methods(request: Request) -> list[str]:
    table = getattr(request.app.state, "allowed_methods_table", None)
    if table is None:
        from starlette.routing import compile_path

        from .openapi import api_routes  # late: openapi imports this module

        table = [(compile_path(r.path)[0], r.methods) for r in api_routes(list(request.app.routes))]
        request.app.state.allowed_methods_table = table
    methods: set[str] = set()
    for regex, route_methods in table:
        if regex.match(request.url.path):
            methods |= set(route_methods or ())
    return sorted(methods)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The message is deliberately generic: tracebacks can carry personal data.
    return problem_response(request, 500, "Internal Server Error", "An unexpected error occurred.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(ValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
