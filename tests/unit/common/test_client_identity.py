"""The address rate limits count: the peer's, unless a trusted proxy forwarded it."""

from __future__ import annotations

import pytest

from services.common.client_identity import client_address
from services.common.settings import Settings

PROXIES = ["10.0.0.0/8", "127.0.0.1"]


@pytest.mark.parametrize(
    "peer, forwarded, trusted, expected",
    [
        # No proxy configured: the header is the caller's claim and changes nothing.
        ("127.0.0.1", ["203.0.113.9"], [], "127.0.0.1"),
        ("198.51.100.7", ["203.0.113.9"], PROXIES, "198.51.100.7"),
        # Behind a trusted proxy: the address it appended.
        ("10.1.2.3", ["203.0.113.9"], PROXIES, "203.0.113.9"),
        # A client-written prefix is skipped: only the hop the proxy appended counts.
        ("10.1.2.3", ["1.1.1.1, 203.0.113.9"], PROXIES, "203.0.113.9"),
        ("10.1.2.3", ["1.1.1.1", "203.0.113.9"], PROXIES, "203.0.113.9"),
        # Two trusted hops (load balancer, then proxy).
        ("127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.9.9.9"], PROXIES, "203.0.113.9"),
        # A trusted proxy that forwarded nothing: the proxy itself.
        ("10.1.2.3", [], PROXIES, "10.1.2.3"),
        (None, ["203.0.113.9"], PROXIES, None),
    ],
)
def test_client_address(peer, forwarded, trusted, expected) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert Settings(trusted_proxies=["10.0.0.0/8", "::1"]).trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings(trusted_proxies=["not-an-ip"])
