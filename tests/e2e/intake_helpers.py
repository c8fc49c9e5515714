"""Helpers shared by the intake e2e tests (HTTP only)."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.common.auth import Role
from tests.e2e.test_walking_skeleton import eventually
from tests.stack import Stack

_addresses = itertools.count(1)


def resident(stack: Stack) -> dict[str, str]:
    """A public token for a new resident, from an address of its own: the test stack
    trusts X-Forwarded-For from 127.0.0.1 (XIESHANG_TRUSTED_PROXIES in tests/stack.py), as
    the county's reverse proxy would be trusted."""
    n = next(_addresses)
    return {
        **stack.auth(Role.PUBLIC, subject=f"wx-{uuid.uuid4().hex[:10]}"),
        "X-Forwarded-For": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
    }


def early_in_a_minute(latest_second: int = 30) -> None:
    """Wait for a minute's second ``latest_second`` at the latest: the public column's
    limits count in fixed calendar minutes (submissions/rate_limits.py), so a burst that
    must fall in one window starts early in one, whatever the machine's load."""
    while time.time() % 60 > latest_second:
        time.sleep(1)


def plan_year_of_its_own(stack: Stack, first: int = 2040, years: int = 60) -> int:
    """A plan year no test has put anything in yet on this stack. Tests share a stack, and
    two that each drew a random year could meet in one (two plenaries in a year: 409)."""
    chair = stack.auth(Role.CHAIR)
    for _ in range(200):
        year = first + uuid.uuid4().int % years
        plan = get(stack, f"/plans/{year}", chair)
        assert plan.status_code == 200, plan.text
        if not plan.json()["entries"]:
            return year
    raise AssertionError(f"no empty plan year left in {first}..{first + years - 1}")


def post(stack: Stack, path: str, body: Any, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{stack.url('intake')}{path}", json=body, headers=headers, timeout=30, **kwargs)


def get(stack: Stack, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(f"{stack.url('intake')}{path}", params=params, headers=headers, timeout=30)


def new_topic(stack: Stack, title: str, content: str, channel: str = "member_recommended") -> dict[str, Any]:
    response = post(stack, "/topics", {"title": title, "content": content, "channel": channel}, stack.auth(Role.CLERK))
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response: httpx.Response, status: int, field: str | None = None, rule: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert body["status"] == status
    if field is not None:
        fields = [(e["field"], e["rule"]) for e in body.get("errors", [])]
        if rule is not None:
            assert (field, rule) in fields, body
        else:
            assert field in [f for f, _ in fields] or field in body.get("detail", ""), body
    return body


def counts(stack: Stack) -> tuple[int, int]:
    """(topics, submissions) stored now."""
    clerk = stack.auth(Role.CLERK)
    topics = get(stack, "/topics", clerk, limit=1).json()["total"]
    submissions = get(stack, "/submissions", clerk, limit=1).json()["total"]
    return topics, submissions


# ------------------------------------------------------------------ announced draws
def public_value(round_: int) -> str:
    """A local stand-in for the announced lottery's result (RFC 3797 format, the test
    stack's XIESHANG_CONSULTATION_PUBLIC_VALUE_FORMAT default), one per round."""
    return f"{3 + round_}.8.12.17.29.41./5./"


def due_public_value(status: dict, value: str | None = None,
                     now: datetime | None = None) -> tuple[str, dict[str, str]] | None:
    """(path, body) that enters the public value of the draw the consultation announced,
    once its announced time has come; None while no draw waits for one or it is too early
    (intake would answer 409)."""
    announced = status.get("announcement")
    if not announced or (now or datetime.now(UTC)) < datetime.fromisoformat(announced["public_randomness_at"]):
        return None
    return (f"/topics/{status['topic_id']}/draws/{announced['draw_id']}/public-value",
            {"public_randomness": value or public_value(announced["round"])})


def enter_public_value(stack: Stack, tid: int, round_: int = 0, value: str | None = None,
                       timeout: float = 60) -> dict:
    """What staff do for every draw (issue 11, part 1): the lifecycle announces it before
    its seed exists, readable without a token; the value is refused before the announced
    time; once public, the clerk enters it and the draw is revealed. Returns the
    announcement."""
    operator, clerk = stack.auth(Role.OPERATOR), stack.auth(Role.CLERK)

    def announced() -> dict | None:
        status = get(stack, f"/topics/{tid}/consultation", operator).json()
        return status if status.get("announcement") and status["announcement"]["round"] == round_ else None

    status = eventually(announced, timeout=timeout, what=f"topic {tid}: draw announced (round {round_})")
    a = status["announcement"]
    public = httpx.get(f"{stack.url('talent')}/public/draws/{a['draw_id']}", timeout=30)  # no token
    assert public.status_code == 200, public.text
    assert public.json()["status"] == "announced" and public.json()["portfolio_hash"] == a["portfolio_hash"]
    assert public.json()["public_randomness_source"] == a["public_randomness_source"]
    value = value or public_value(round_)
    path = f"/topics/{tid}/draws/{a['draw_id']}/public-value"
    at = datetime.fromisoformat(a["public_randomness_at"])
    if datetime.now(UTC) < at - timedelta(seconds=0.5):
        assert post(stack, path, {"public_randomness": value}, clerk).status_code == 409  # too early
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.2)
    entry = due_public_value(status, value)
    assert entry is not None and entry[0] == path
    entered = post(stack, path, entry[1], clerk)
    assert entered.status_code == 200, entered.text
    return a
