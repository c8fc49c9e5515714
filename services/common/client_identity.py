"""Who is calling, as far as the network can tell: the address rate limits are keyed by.

The peer of the TCP connection is the client unless that peer is one of the configured
trusted proxies (settings ``trusted_proxies``: addresses or networks). Only then is
``X-Forwarded-For`` read, right to left: each trusted hop is skipped, and the first
address not trusted is the client (the entries left of it were written by the client
and prove nothing). Uvicorn runs with ``--no-proxy-headers`` (devstack.py, compose,
deploy/), so ``request.client`` is the real peer and not a header's claim.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request

from .settings import Settings, get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _is_trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[str]) -> str | None:
    """The client's address from the peer and the X-Forwarded-For header values (in order)."""
    networks = _networks(tuple(trusted))
    if peer is None or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    current = peer
    while hops and _is_trusted(current, networks):
        current = hops.pop()
    return current


def request_client_address(request: Request) -> str | None:
    settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies)
