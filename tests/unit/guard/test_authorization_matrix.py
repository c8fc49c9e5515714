"""The authorization matrix, generated from the routes of the three apps.

docs/security.md declares one row per route (service, method, template, roles). This
test fails on any route without a row, on a row without a route, on a route whose
``allow(...)`` declares other roles than its row, and then calls every route with a
token of every role: a declared role is never refused (401/403), an undeclared one is
always 403, no token is 401. The operator, documented read-only, has no write.
"""

from __future__ import annotations

import re
from pathlib import Path

from services.common.auth import Role, declared_roles
from services.common.settings import SERVICE_NAMES
from services.common.writes import WRITE_METHODS, api_routes

from .conftest import Services

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
ROW = re.compile(r"^\| (intake|talent|evaluation) \| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| ([^|]+) \|$")
PUBLIC_ROUTES = "anyone, no token"


def documented() -> dict[tuple[str, str, str], frozenset[Role] | None]:
    matrix = {}
    for line in DOC.read_text().splitlines():
        if match := ROW.match(line.strip()):
            service, method, path, roles = match.groups()
            roles = roles.strip()
            key = (service, method, path)
            assert key not in matrix, f"{key} is declared twice"
            matrix[key] = None if roles == PUBLIC_ROUTES else frozenset(Role(r.strip()) for r in roles.split(","))
    return matrix


def served(services: Services) -> dict[tuple[str, str, str], frozenset[Role] | None]:
    routes = {}
    for name in SERVICE_NAMES:
        for route in api_routes(services.apps[name]):
            for method in route.methods - {"HEAD"}:
                routes[(name, method, route.path)] = declared_roles(route.dependant)
    return routes


async def test_every_route_has_a_declared_rule_and_every_role_gets_what_it_declares(services: Services) -> None:
    declared, actual = documented(), served(services)
    assert len(actual) > 60
    undeclared = sorted(set(actual) - set(declared))
    assert not undeclared, f"routes without a rule in docs/security.md: {undeclared}"
    stale = sorted(set(declared) - set(actual))
    assert not stale, f"rules in docs/security.md without a route: {stale}"
    differing = {k: (declared[k], actual[k]) for k in actual if declared[k] != actual[k]}
    assert not differing, f"allow(...) differs from docs/security.md: {differing}"

    failures = []
    for (service, method, template), roles in sorted(actual.items(), key=str):
        path = re.sub(r"\{[^}]+\}", "1", template)
        client = services.clients[service]
        body = {} if method in WRITE_METHODS else None
        if roles is None:
            answer = await client.request(method, path)
            if answer.status_code in (401, 403):
                failures.append((service, method, template, "no token", answer.status_code))
            continue
        anonymous = await client.request(method, path, json=body)
        if anonymous.status_code != 401:
            failures.append((service, method, template, "no token", anonymous.status_code))
        for role in Role:
            answer = await client.request(method, path, json=body, headers=services.auth(role, f"{role.value}-1"))
            expected_refusal = role not in roles
            if expected_refusal and answer.status_code != 403:
                failures.append((service, method, template, role.value, answer.status_code))
            if not expected_refusal and answer.status_code in (401, 403):
                failures.append((service, method, template, role.value, answer.status_code, answer.text[:120]))
    assert not failures, failures


def test_the_operator_changes_nothing() -> None:
    writes_open_to_operators = [
        key for key, roles in documented().items() if key[1] in WRITE_METHODS and roles is not None and Role.OPERATOR in roles
    ]
    assert writes_open_to_operators == []
    assert any(roles and Role.OPERATOR in roles for roles in documented().values())  # it reads
