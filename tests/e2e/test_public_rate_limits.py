"""The public column's hard limit holds under a concurrent burst, keyed by an address
the caller cannot choose: 30 simultaneous posts → exactly the limit accepted, on SQLite
and PostgreSQL. The stack believes X-Forwarded-For only from 127.0.0.1 (tests/stack.py);
a client connecting from 127.0.0.2 forges it in vain."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from services.common.auth import Role
from services.intake.submissions.rate_limits import ADDRESS_LIMITS, RESIDENT_LIMITS
from tests.e2e.intake_helpers import early_in_a_minute
from tests.stack import Stack

pytestmark = pytest.mark.e2e

BURST = 30


def resident_token(stack: Stack, subject: str | None = None) -> dict[str, str]:
    return stack.auth(Role.PUBLIC, subject=subject or f"wx-{uuid.uuid4().hex[:10]}")


def burst(stack: Stack, headers_of, *, local_address: str = "127.0.0.1") -> list[int]:
    """BURST posts at once, each on its own connection from ``local_address``; started
    early in a minute, so the whole burst falls in one fixed window (rate_limits.py)."""
    url = f"{stack.url('intake')}/public/submissions"
    early_in_a_minute()

    def one(n: int) -> int:
        # A concern no other test writes about, so other tests' submissions never join it.
        body = {"title": f"蜂箱被盗第{n}起", "content": f"养蜂户的蜂箱接连被盗，第{n}起了，请加强巡查。{uuid.uuid4().hex[:6]}"}
        transport = httpx.HTTPTransport(local_address=local_address)
        with httpx.Client(transport=transport, timeout=60) as client:
            return client.post(url, json=body, headers=headers_of(n)).status_code

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def accepted(statuses: list[int]) -> int:
    assert set(statuses) <= {201, 202, 429}, statuses  # received, held for review, or refused
    return sum(s in (201, 202) for s in statuses)


def forwarded() -> str:
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


def test_burst_from_one_forwarded_address_gets_exactly_the_limit(stack: Stack) -> None:
    address = forwarded()
    statuses = burst(stack, lambda n: {**resident_token(stack), "X-Forwarded-For": address})
    assert accepted(statuses) == ADDRESS_LIMITS[0].max_count, statuses


def test_burst_of_one_resident_from_many_addresses_gets_exactly_the_limit(stack: Stack) -> None:
    token = resident_token(stack)
    statuses = burst(stack, lambda n: {**token, "X-Forwarded-For": forwarded()})
    assert accepted(statuses) == RESIDENT_LIMITS[0].max_count, statuses


def test_forged_forwarded_addresses_from_an_untrusted_peer_change_nothing(stack: Stack) -> None:
    # 127.0.0.2 is not a trusted proxy: every request counts for that peer, whatever it claims.
    statuses = burst(stack, lambda n: {**resident_token(stack), "X-Forwarded-For": forwarded()},
                     local_address="127.0.0.2")
    assert accepted(statuses) == ADDRESS_LIMITS[0].max_count, statuses
    refused = httpx.post(f"{stack.url('intake')}/public/submissions", timeout=30,
                         json={"title": "蜂箱被盗", "content": "养蜂户的蜂箱被盗，请加强巡查。"},
                         headers={**resident_token(stack), "X-Forwarded-For": forwarded()})
    assert refused.status_code in (201, 202)  # the trusted proxy's forwarded address is another client
