"""Every error is RFC 9457 problem+json (unit level, ASGI transport)."""

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from services.common.auth import Principal, Role, allow, mint_token
from services.common.problems import Problem, install_problem_handlers
from services.common.settings import Settings

SETTINGS = Settings(jwt_secret="k" * 40)


class Body(BaseModel):
    count: int = Field(ge=1)


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.settings = SETTINGS
    install_problem_handlers(app)

    @app.post("/things")
    async def things(body: Body, _: Annotated[Principal, Depends(allow(Role.CLERK))]) -> dict:
        if body.count == 13:
            raise Problem(409, "Conflict", "Thirteen is taken.")
        if body.count == 666:
            raise RuntimeError("secret +86 138 0000 0000 leaked in a traceback")
        return {"ok": True}

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def auth(role: Role) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(SETTINGS, role=role, subject="u")}


async def test_validation_names_field_and_rule(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"count": 0}, headers=auth(Role.CLERK))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["errors"] == [{"field": "count", "rule": "greater_than_equal", "message": body["errors"][0]["message"]}]
    assert body["instance"] == "/things" and "count" in body["detail"]


async def test_domain_problem_and_unknown_route(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"count": 13}, headers=auth(Role.CLERK))
    assert (r.status_code, r.json()["detail"]) == (409, "Thirteen is taken.")
    missing = await client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    wrong_method = await client.get("/things")
    assert wrong_method.status_code == 405 and wrong_method.json()["title"] == "Method Not Allowed"


async def test_unexpected_errors_do_not_leak_details(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"count": 666}, headers=auth(Role.CLERK))
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "138" not in r.text


async def test_roles(client: httpx.AsyncClient) -> None:
    assert (await client.post("/things", json={"count": 1})).status_code == 401
    assert (await client.post("/things", json={"count": 1}, headers=auth(Role.PUBLIC))).status_code == 403
    assert (await client.post("/things", json={"count": 1}, headers=auth(Role.CLERK))).status_code == 200
