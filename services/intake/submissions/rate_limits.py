"""Hard rate limits of the public column, counted in the database.

Each request of a resident counts once in every window of every limit, for two
identities: the client address (client_identity.py: the peer, or the forwarded address
only behind a trusted proxy) and the resident (the token's subject). Counting is one
atomic upsert-increment per request (``INSERT ... ON CONFLICT DO UPDATE SET count =
count + 1 RETURNING``, on SQLite and PostgreSQL alike), committed before the submission
is stored: of N concurrent requests exactly the limit see a count within it, whatever
the interleaving. Windows are fixed (the minute, the hour, the day since the epoch), so
at most twice a limit can pass around a window's edge; refused requests count too, so a
flood stays refused until its window ends.

The soft flood window (screening.FloodWindow over stored submissions) still sends a busy
sender's submissions to moderation below these limits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..screening import RateLimit
from .models import RateCounter

# Above the flood window (3/min, 10/h, 30/day goes to moderation) a sender is refused
# outright: the queue must not become the flood's new home.
ADDRESS_LIMITS: tuple[RateLimit, ...] = (
    RateLimit(6, timedelta(minutes=1)), RateLimit(20, timedelta(hours=1)), RateLimit(60, timedelta(days=1)),
)
RESIDENT_LIMITS: tuple[RateLimit, ...] = ADDRESS_LIMITS


@dataclass(frozen=True)
class Refusal:
    identity: str  # "address" or "resident"
    limit: RateLimit
    count: int
    retry_after_seconds: int


def identity_key(value: str) -> str:
    """sha256 of an address or subject: enough to count, not the value itself."""
    return hashlib.sha256(value.encode()).hexdigest()


def _upsert(session: AsyncSession):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


# Public sessions (residents/service.py: open_session) are counted apart from
# submissions: a page opened on a phone asks for one now and then, a script asking in a
# loop is refused. Per device and per address.
SESSION_LIMITS: tuple[RateLimit, ...] = (
    RateLimit(10, timedelta(minutes=1)), RateLimit(60, timedelta(hours=1)), RateLimit(200, timedelta(days=1)),
)
# Co-signatures (联名): a resident co-signs a handful of topics, not hundreds.
COSIGN_LIMITS: tuple[RateLimit, ...] = ADDRESS_LIMITS


async def count_request(
    session: AsyncSession,
    now: datetime,
    *,
    address: str | None,
    resident: str,
    purpose: str = "",
    limits: tuple[RateLimit, ...] | None = None,
) -> Refusal | None:
    """Count this request for its address and resident; the first limit now exceeded, or
    None. Commits the session (the count must be visible to concurrent requests).
    ``purpose`` (e.g. "session") counts in windows of its own, with its own ``limits``;
    submissions keep the unprefixed scopes."""
    await session.commit()  # no read snapshot held: the upsert waits for the writer lock
    epoch = now.timestamp()
    rows: list[dict] = []
    by_scope: dict[str, tuple[str, RateLimit]] = {}
    identities = [("resident", identity_key(resident), limits or RESIDENT_LIMITS)]
    if address is not None:
        identities.append(("address", identity_key(address), limits or ADDRESS_LIMITS))
    prefix = f"{purpose}-" if purpose else ""
    for identity, key, identity_limits in identities:
        for limit in identity_limits:
            period = int(limit.per.total_seconds())
            scope = f"{prefix}{identity}:{period}"
            window = int(epoch // period)
            by_scope[scope] = (identity, limit)
            rows.append({"scope": scope, "key": key, "window": window, "count": 1,
                         "expires_at": datetime.fromtimestamp((window + 1) * period, tz=now.tzinfo)})
    insert = _upsert(session)(RateCounter).values(rows)
    statement = insert.on_conflict_do_update(
        index_elements=[RateCounter.scope, RateCounter.key, RateCounter.window],
        set_={"count": RateCounter.count + 1},
    ).returning(RateCounter.scope, RateCounter.count, RateCounter.expires_at)
    counted = (await session.execute(statement)).all()
    if any(scope.endswith(f":{86400}") and count == 1 for scope, count, _ in counted):
        # A new day for this sender: a cheap moment to drop windows that have ended.
        await session.execute(delete(RateCounter).where(RateCounter.expires_at < now - timedelta(days=1)))
    await session.commit()
    refusals = []
    for scope, count, expires_at in counted:
        identity, limit = by_scope[scope]
        if count > limit.max_count:
            retry = max(1, ceil((expires_at - now).total_seconds()))
            refusals.append(Refusal(identity, limit, count, retry))
    return max(refusals, key=lambda r: r.retry_after_seconds, default=None)
