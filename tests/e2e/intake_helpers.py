"""Helpers shared by the intake e2e tests (HTTP only)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

from services.common.auth import Role
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
