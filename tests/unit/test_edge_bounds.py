"""The bounds every service holds its input to (services/common/types.py,
request_guard.py, openapi.py): each kind of bad input is a 422 problem naming the field
and the rule, an unexpected error a 500 problem with a request id that does not escape
to the server (which would close the connection)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
import structlog
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.common.auth import Principal, Role, allow, mint_token
from services.common.openapi import install_problem_openapi
from services.common.problems import PROBLEM_JSON, install_problem_handlers
from services.common.request_guard import MAX_JSON_BODY_BYTES, RequestGuard
from services.common.settings import Settings
from services.common.types import (
    MAX_DB_ID,
    BoundedJson,
    Cursor,
    Day,
    DbId,
    DueDate,
    DueTimestamp,
    UTCTimestamp,
)

SETTINGS = Settings(jwt_secret="k" * 40)


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    owner_id: DbId | None = None
    at: UTCTimestamp | None = None
    detail: BoundedJson = Field(default_factory=dict)


class Derived(BaseModel):
    digits: str = Field(pattern=r"^\d+$")


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.settings = SETTINGS
    install_problem_handlers(app)
    app.add_middleware(RequestGuard)

    @app.post("/things/{thing_id}", status_code=201)
    async def post_thing(thing_id: DbId, body: Thing, _: Annotated[Principal, Depends(allow(Role.CLERK))]) -> dict:
        if body.name == "boom":
            raise RuntimeError("secret +86 138 0000 0000 leaked in a message")
        if body.name == "derived":
            Derived(digits=body.name)  # a guard on what the service derives: ValidationError
        return {"id": thing_id}

    @app.get("/things")
    async def list_things(after: Annotated[Cursor | None, Query()] = None) -> dict:
        return {"after": after}

    @app.get("/things/{thing_id}")
    async def read_thing(thing_id: DbId) -> dict:
        return {"id": thing_id}

    install_problem_openapi(app)
    return app


@pytest.fixture
async def client():
    # raise_app_exceptions=True: an exception that escaped the guard would fail the test.
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


AUTH = {"Authorization": "Bearer " + mint_token(SETTINGS, role=Role.CLERK, subject="u")}


def assert_problem(r: httpx.Response, status: int, field: str | None = None, rule: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["x-request-id"]
    body = r.json()
    assert body["status"] == status and body["request_id"] == r.headers["x-request-id"]
    if field is not None:
        assert any(e["field"] == field and (rule is None or e["rule"] == rule) for e in body["errors"]), body
    return body


async def post_raw(client: httpx.AsyncClient, raw: bytes | str, path: str = "/things/1") -> httpx.Response:
    content = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return await client.post(path, content=content, headers={**AUTH, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("case", "raw", "field", "rule"),
    [
        ("NUL in a text", '{"name": "a\\u0000b"}', "name", "unstorable_text"),
        ("NUL in a key", '{"name": "a", "detail": {"k\\u0000": 1}}', "detail", "unstorable_text"),
        ("lone surrogate", '{"name": "\\ud800"}', "name", "unstorable_text"),
        ("lone surrogate deep", '{"name": "a", "detail": {"x": ["\\udfff"]}}', "detail.x.0", "unstorable_text"),
        ("nested 400 deep", '{"name": "a", "detail": ' + '{"a": ' * 400 + "1" + "}" * 400 + "}", None, "json_depth"),
        ("id above 2^31-1", '{"name": "a", "owner_id": 2147483648}', "owner_id", "number_range"),
        ("id above 2^63", '{"name": "a", "owner_id": 99999999999999999999999}', "owner_id", "number_range"),
        ("float id", '{"name": "a", "owner_id": 1e20}', "owner_id", "number_range"),
        ("NaN", '{"name": "a", "detail": {"x": NaN}}', "detail.x", "finite_number"),
        ("Infinity", '{"name": "a", "detail": {"x": Infinity}}', "detail.x", "finite_number"),
    ],
)
async def test_the_guard_refuses_what_no_field_may_hold(
    client: httpx.AsyncClient, case: str, raw: str, field: str | None, rule: str
) -> None:
    body = assert_problem(await post_raw(client, raw), 422, field, rule)
    assert rule in body["detail"]


async def test_nul_in_path_and_query_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/things?after=%00"), 422, "after", "unstorable_text")
    assert_problem(await client.get("/things/1%00"), 422, "path", "unstorable_text")


async def test_a_json_body_is_bounded_in_size(client: httpx.AsyncClient) -> None:
    raw = '{"name": "' + "a" * (MAX_JSON_BODY_BYTES + 1) + '"}'
    assert_problem(await post_raw(client, raw), 413)


async def test_ids_and_cursors_are_bounded(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/things/{MAX_DB_ID}")).json() == {"id": MAX_DB_ID}
    for bad in (0, -1, MAX_DB_ID + 1, 2**63, 10**40):
        assert_problem(await client.get(f"/things/{bad}"), 422, "thing_id")
    assert (await client.get("/things?after=0")).json() == {"after": 0}
    for bad in (-1, MAX_DB_ID + 1, 10**40):
        assert_problem(await client.get(f"/things?after={bad}"), 422, "after")


async def test_a_body_that_is_not_json_is_left_to_validation(client: httpx.AsyncClient) -> None:
    assert_problem(await post_raw(client, b'{"name": '), 422)
    assert (await post_raw(client, '{"name": "ok"}')).status_code == 201


@pytest.mark.parametrize(
    "at",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1969-12-31T00:00:00Z", "2300-01-01T00:00:00Z"],
)
async def test_datetimes_out_of_range_are_422_not_overflow(client: httpx.AsyncClient, at: str) -> None:
    assert_problem(await post_raw(client, json.dumps({"name": "a", "at": at})), 422, "at")


async def test_unexpected_error_is_a_500_problem_with_a_request_id_and_no_detail(client: httpx.AsyncClient) -> None:
    logged: list[dict[str, Any]] = []
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, lambda _l, _m, event: logged.append(event) or ""],
        logger_factory=structlog.ReturnLoggerFactory(),
    )
    try:
        r = await client.post("/things/1", json={"name": "boom"}, headers={**AUTH, "X-Request-ID": "req-42"})
    finally:
        structlog.reset_defaults()
    body = assert_problem(r, 500)
    assert body["request_id"] == "req-42" and "138" not in r.text
    [event] = [e for e in logged if e.get("event") == "request.unexpected_error"]
    assert event["request_id"] == "req-42" and event["error"] == "RuntimeError"
    assert event["route"] == "/things/{thing_id}"
    assert any("test_edge_bounds.py" in frame for frame in event["at"])
    assert "138" not in json.dumps(event, ensure_ascii=False)
    # The connection stays usable: the next request on the same client is answered.
    assert (await post_raw(client, '{"name": "ok"}')).status_code == 201


async def test_a_guard_on_derived_data_is_a_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/things/1", json={"name": "derived"}, headers=AUTH), 422, "digits")


async def test_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.delete("/things/1")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM_JSON
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_due_dates_lie_within_ten_years() -> None:
    now = datetime.now(UTC)
    due = TypeAdapter(DueTimestamp)
    assert due.validate_python(now + timedelta(days=365 * 9)) > now
    for bad in (now + timedelta(days=3660), "9999-12-30T00:00:00Z"):
        with pytest.raises(ValidationError):
            due.validate_python(bad)
    with pytest.raises(ValidationError):
        TypeAdapter(DueDate).validate_python("9999-12-30")
    with pytest.raises(ValidationError, match="ISO 8601"):
        TypeAdapter(Day).validate_python(0)


def test_bounded_json_depth_and_size() -> None:
    adapter = TypeAdapter(BoundedJson)
    ok: dict[str, Any] = {"a": {"b": {"c": [1, 2]}}}
    assert adapter.validate_python(ok) == ok
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(9):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ValidationError, match="levels deep"):
        adapter.validate_python(deep)
    with pytest.raises(ValidationError, match="bytes"):
        adapter.validate_python({"x": "长" * 6000})


@pytest.mark.parametrize("service", ["intake", "talent", "evaluation"])
def test_every_operation_declares_its_problems(service: str) -> None:
    module = __import__(f"services.{service}.main", fromlist=["app"])
    document = module.app.openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            errors = {code: r for code, r in responses.items() if int(code) >= 400}
            assert "422" in errors and "500" in errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == [PROBLEM_JSON], (method, path, code)
            if path in ("/healthz", "/readyz", "/metrics") or path.startswith("/public/"):  # no token: probes, scrapes, public reads
                continue
            assert operation["x-roles"], (method, path)
            if operation["x-roles"] == ["public"] and "security" not in operation:
                # The public read API: no token, so no 401/403 (the database may still be down).
                assert "503" in errors and not {"401", "403"} & set(errors), (method, path)
            else:
                assert {"401", "403", "503"} <= set(errors), (method, path)
            if "{" in path:
                assert "404" in errors, (method, path)
            if method != "get":
                assert "409" in errors, (method, path)
