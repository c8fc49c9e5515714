"""The audit trail: every state-changing request, append-only and hash-chained.

Each service keeps its own chain in two tables:

- ``audit_log``: one row per request — ``seq`` (1, 2, 3, … without gaps), when, who
  (the caller: role, department, subject; a resident only as a pseudonym), what (method
  and route template, e.g. ``POST /commitments/{commitment_id}/completion``), the
  resource (path ids and the id of what was created), the outcome (HTTP status), and
  ``prev_hash`` / ``hash``. No body, no query, no personal payload is recorded.
- ``audit_head``: a single row with the last ``seq`` and ``hash``.

``hash = sha256(prev_hash + canonical JSON of the row's content)``; the first row's
``prev_hash`` is ``GENESIS``. Changing any recorded field breaks that row's hash;
deleting a row leaves a gap in ``seq`` (or, for the last rows, a head that points past
the end); inserting one breaks the next row's ``prev_hash``.

Appends are serialised by the head row: the first statement of the append transaction
is ``UPDATE audit_head SET seq = seq + 1 … RETURNING``. On PostgreSQL that takes the row
lock, so a concurrent append waits and then reads the committed head (READ COMMITTED
re-reads an updated row); on SQLite the UPDATE takes the database's write lock (the
effect of ``BEGIN IMMEDIATE``), so appends are serial there too. The same code runs on
both backends; an aborted append rolls back its head update with it.

``xieshang audit verify [--service NAME]`` (services/common/cli.py) walks the chain
with :func:`verify_chain` and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .db import UTCDateTime, utcnow

GENESIS = "0" * 64
LOG_TABLE = "audit_log"
HEAD_TABLE = "audit_head"


def audit_tables(metadata: MetaData) -> tuple[Table, Table]:
    log = Table(
        LOG_TABLE,
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("at", UTCDateTime(), nullable=False),
        Column("caller", String(200), nullable=False),
        Column("role", String(20), nullable=False),
        Column("action", String(300), nullable=False),
        Column("resource", String(200), nullable=False),
        Column("outcome", Integer, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    head = Table(
        HEAD_TABLE,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", Integer, nullable=False),
        Column("hash", String(64), nullable=False),
    )
    return log, head


@dataclass(frozen=True)
class AuditEntry:
    """What one request did, without its payload."""

    caller: str
    role: str
    action: str
    resource: str
    outcome: int


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, seq: int, at: datetime, entry: AuditEntry) -> str:
    content = {
        "seq": seq, "at": _at_text(at), "caller": entry.caller, "role": entry.role,
        "action": entry.action, "resource": entry.resource, "outcome": entry.outcome,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


class AuditTrail:
    def __init__(self, log: Table, head: Table) -> None:
        self.log = log
        self.head = head
        # Every write request appends: its three statements are built once, with bound
        # parameters, instead of per request (building them was over half of the
        # append's CPU in a profile of bench/rung_request.py: docs/benchmarks.md, sixth
        # pass).
        self._advance = (
            update(head).where(head.c.id == 1).values(seq=head.c.seq + 1).returning(head.c.seq, head.c.hash)
        )
        self._insert = insert(log)
        self._set_hash = update(head).where(head.c.id == 1).values(hash=bindparam("new_hash"))

    async def append(
        self, session: AsyncSession, entry: AuditEntry, *, with_it: Callable[[], Awaitable[None]] | None = None,
    ) -> int:
        """Append ``entry`` after the current head and commit; returns its seq.

        The head's UPDATE comes first, so the transaction holds the chain (row lock on
        PostgreSQL, write lock on SQLite) while it reads the previous hash and writes.
        ``with_it`` adds what must commit in the same transaction (the request guard's
        stored answer: one commit for both instead of two).
        """
        for _ in range(3):
            moved = (await session.execute(self._advance)).first()
            if moved is None:  # a new chain: create its head once
                await session.rollback()
                try:
                    await session.execute(insert(self.head).values(id=1, seq=0, hash=GENESIS))
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                continue
            seq, prev_hash = moved
            at = utcnow()
            digest = entry_hash(prev_hash, seq, at, entry)
            await session.execute(self._insert, {
                "seq": seq, "at": at, "caller": entry.caller[:200], "role": entry.role, "action": entry.action[:300],
                "resource": entry.resource[:200], "outcome": entry.outcome, "prev_hash": prev_hash, "hash": digest,
            })
            await session.execute(self._set_hash, {"new_hash": digest})
            if with_it is not None:
                await with_it()
            await session.commit()
            return seq
        raise RuntimeError("could not create the audit head")


@dataclass(frozen=True)
class Verification:
    entries: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


async def verify_chain(engine: AsyncEngine, log: Table, head: Table, *, batch: int = 1000) -> Verification:
    """Walk the chain in seq order; the first link that does not hold is named.

    A link holds when its seq follows the previous one by 1, its ``prev_hash`` is the
    previous row's hash, and its ``hash`` recomputes from its content. At the end, the
    head must point at the last row (otherwise rows were deleted from the end).
    """
    expected_seq, prev_hash, count = 1, GENESIS, 0
    async with engine.connect() as conn:
        after = 0
        while True:
            rows = (await conn.execute(select(log).where(log.c.seq > after).order_by(log.c.seq).limit(batch))).all()
            if not rows:
                break
            for row in rows:
                if row.seq != expected_seq:
                    return Verification(count, expected_seq, f"entry {expected_seq} is missing (deleted); next is {row.seq}")
                if row.prev_hash != prev_hash:
                    return Verification(count, row.seq, f"entry {row.seq} does not follow entry {row.seq - 1} (prev_hash differs)")
                entry = AuditEntry(row.caller, row.role, row.action, row.resource, row.outcome)
                if entry_hash(row.prev_hash, row.seq, row.at, entry) != row.hash:
                    return Verification(count, row.seq, f"entry {row.seq} was modified (its content does not match its hash)")
                prev_hash, expected_seq, count, after = row.hash, expected_seq + 1, count + 1, row.seq
        top = (await conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1))).first()
    last = expected_seq - 1
    if top is None:
        if last:
            return Verification(count, 1, "the chain's head is missing")
        return Verification(0)
    if top.seq != last:
        return Verification(count, last + 1, f"entries {last + 1}..{top.seq} are missing (deleted from the end)")
    if top.hash != prev_hash:
        return Verification(count, last, f"entry {last} does not match the chain's head")
    return Verification(count)
