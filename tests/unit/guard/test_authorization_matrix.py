"""The authorization matrix: the roles each route declares, checked against what it does.

The declaration is one: each operation's ``x-roles`` in its service's OpenAPI document
(services/common/openapi.py reads it from the route's ``allow(...)``; a route that checks
its token itself, the Web UI's codec, writes it in ``openapi_extra``). Clients and the
schemathesis run read the same field. This test

* fails on any route the apps serve that declares no roles, unless it is one of the few
  that take no token by design (``NO_TOKEN``) or is the undocumented twin of a declared
  route (``TWINS``);
* calls every route with a token of every role: a declared role is never refused
  (401/403), an undeclared one is always 403, no token is 401;
* finds no write the operator, documented read-only, may make (the codec's POSTs
  decode and encode for the Web UI and change nothing: ``READS_BY_POST``).
"""

from __future__ import annotations

import re
from fastapi import FastAPI

from services.common.auth import Role
from services.common.settings import SERVICE_NAMES
from services.common.writes import WRITE_METHODS, api_routes

from .conftest import NO_TOKEN, Key, Services, declared, production_apps, route_template

# Out of the document, with the roles of a documented route: the codec with the token in
# its path, for a browser whose Web UI cannot send headers (docs/operators.md).
TWINS = {
    ("intake", "POST", "/codec/t/{token}/decode"): ("intake", "POST", "/codec/decode"),
    ("intake", "POST", "/codec/t/{token}/encode"): ("intake", "POST", "/codec/encode"),
}
READS_BY_POST = {("intake", "POST", "/codec/decode"), ("intake", "POST", "/codec/encode")}

def served(apps: dict[str, FastAPI]) -> set[Key]:
    return {
        (name, method, route_template(route.path))
        for name in SERVICE_NAMES
        for route in api_routes(apps[name])
        for method in route.methods - {"HEAD"}
    }


def test_every_served_route_declares_its_roles() -> None:
    apps = production_apps()
    matrix, routes = declared(apps), served(apps)
    assert len(routes) > 70
    undeclared = sorted(k for k in routes - NO_TOKEN - set(TWINS) if matrix.get(k) is None)
    assert not undeclared, f"routes without x-roles (allow(...) or openapi_extra): {undeclared}"
    assert NO_TOKEN | set(TWINS) <= routes, "a route listed here is no longer served"
    assert not [k for k in NO_TOKEN if matrix.get(k)], "a route served without a token declares roles"


def _call_path(template: str, token: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template.replace("{token}", token))


async def test_every_role_gets_what_its_route_declares(services: Services) -> None:
    matrix = declared(services.apps)
    assert matrix == declared(production_apps())  # the apps under test are the services' own
    checked = {k: roles for k, roles in matrix.items() if roles is not None}
    checked.update({twin: matrix[original] for twin, original in TWINS.items()})
    assert len(checked) > 70
    failures = []
    for (service, method, template), roles in sorted(checked.items(), key=str):
        client = services.clients[service]
        body = {} if method in WRITE_METHODS else None
        in_path = "{token}" in template
        anonymous = await client.request(method, _call_path(template, "no-token"), json=body)
        if anonymous.status_code != 401:
            failures.append((service, method, template, "no token", anonymous.status_code))
        for role in Role:
            token = services.token(role, f"{role.value}-1")
            if in_path:
                answer = await client.request(method, _call_path(template, token), json=body)
            else:
                answer = await client.request(method, _call_path(template, ""), json=body,
                                              headers={"Authorization": f"Bearer {token}"})
            refused = answer.status_code in (401, 403)
            if role not in roles and answer.status_code != 403:
                failures.append((service, method, template, role.value, answer.status_code))
            if role in roles and refused:
                failures.append((service, method, template, role.value, answer.status_code, answer.text[:120]))
    assert not failures, failures


def test_the_operator_changes_nothing() -> None:
    matrix = declared(production_apps())
    writes_open_to_operators = sorted(
        key for key, roles in matrix.items()
        if key[1] in WRITE_METHODS and roles and Role.OPERATOR in roles and key not in READS_BY_POST
    )
    assert writes_open_to_operators == []
    assert any(roles and Role.OPERATOR in roles for roles in matrix.values())  # it reads
