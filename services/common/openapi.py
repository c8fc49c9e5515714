"""The OpenAPI document of every service, with its errors declared once for all routes.

``install_problem_openapi`` replaces FastAPI's document builder. After FastAPI has
described the routes, each operation gets, as ``application/problem+json`` with the
shared ``Problem`` schema (RFC 9457):

* 401 and 403 when a bearer token is needed, and ``x-roles``: the roles that may call
  it (read from the route's ``allow(...)``), so clients and the schemathesis run in the
  suite know which token to present;
* 404 when the path names a record; 409 for every change (state conflicts, repeated
  keys); 400 and 413 when it takes a body (undecodable, too large); 422 always (any path or query can carry a NUL) (FastAPI's own 422 schema is replaced);
  503 when a token is needed (the database or Temporal is unavailable; see Retry-After);
  500, the shape of an unexpected error (with its request id).

A route that declares one of these itself keeps its description; only the content is
made problem+json. No route writes these by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from .problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Validation problems list each failed field and rule in `errors`.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "rule", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "rule": {"type": ["string", "null"]},
                    "message": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}

DESCRIPTIONS = {
    "400": "The body cannot be decoded",
    "401": "No bearer token, or not a valid one",
    "403": "The token's role may not do this",
    "404": "No such record",
    "409": "Conflicts with the record's or the workflow's state",
    "413": "The body is too large",
    "415": "A file of a kind this route does not read",
    "422": "Invalid input: each failed field and rule in `errors`",
    "429": "Too many requests; see Retry-After",
    "500": "Unexpected error; quote `request_id` to the operators",
    "503": "The database or Temporal is unavailable; retry after Retry-After",
}
_UNSAFE = {"post", "put", "patch", "delete"}


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute of an app, through included routers (FastAPI ≥ 0.16x nests them)."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if iter_contexts is None:  # older FastAPI: routes are flat
        return [r for r in routes if isinstance(r, APIRoute)]
    from fastapi.openapi import utils as openapi_utils

    found = []
    for context in iter_contexts(routes):
        route = openapi_utils._get_api_route_for_openapi(context)
        if route is not None:
            found.append(route)
    return found


def roles_of(dependant: Dependant) -> tuple[str, ...] | None:
    """The roles of the first ``allow(...)`` among a route's dependencies, or None."""
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop(0)
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(getattr(r, "value", r) for r in roles)
        stack.extend(dep.dependencies)
    return None


def declare_problems(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Add the shared problem responses and ``x-roles`` to every operation of ``schema``."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    by_operation = {
        (route.path_format, method.lower()): route for route in api_routes(routes) for method in route.methods
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            route = by_operation.get((path, method))
            if route is None:
                continue
            # A route that checks its token itself (the Web UI's codec) declares x-roles in openapi_extra.
            roles = roles_of(route.dependant) or operation.get("x-roles")
            statuses = {"500"}
            if roles is not None:
                operation["x-roles"] = list(roles)
                statuses |= {"401", "403", "503"}
                if roles_of(route.dependant) is None and list(roles) == ["public"]:
                    statuses -= {"401", "403"}  # open to anyone without a token (the public read API)
            if route.dependant.path_params:
                statuses.add("404")
            if method in _UNSAFE:
                statuses.add("409")
            body_types = set(operation.get("requestBody", {}).get("content", {}))
            if body_types:
                statuses |= {"400", "413"}  # 400: a body that cannot be decoded at all
            if body_types - {"application/json"}:
                statuses.add("415")  # a file of a kind the route does not read
            responses = operation.setdefault("responses", {})
            if "201" in responses and "200" not in responses and any(
                p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
                for p in operation.get("parameters", [])
            ):
                # A repeated Idempotency-Key answers the first answer again, with 200.
                responses["200"] = {**responses["201"], "description": "Repeated request: the first answer"}
            statuses.add("422")  # any request: a NUL in its path or query is refused
            responses = operation.setdefault("responses", {})
            statuses |= {code for code in responses if code.isdigit() and int(code) >= 400}
            for code in sorted(statuses):
                declared = responses.get(code, {})
                description = declared.get("description")
                if not description or description == "Validation Error":
                    description = DESCRIPTIONS.get(code, "Error")
                responses[code] = {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}
            operation["responses"] = dict(sorted(responses.items()))
    components = schema["components"]["schemas"]
    # FastAPI's own validation-error shapes are never answered: drop them if now unused.
    text = str(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text and name in components:
            del components[name]
    return schema


def install_problem_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = declare_problems(schema, list(app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
