"""Field types shared by the services' API schemas: the bounds every input is held to.

Each type refuses what a database, Temporal or the deadline arithmetic downstream could
not hold, at the edge, as a 422 naming the field and the rule (docs/errors.md):

* ``DbId`` — an id of a stored record (path, query or body): 1..2^31-1, the range of
  an INTEGER column on PostgreSQL (SQLite holds more; the bound is the same for both).
  An id outside the range is refused with 422, never looked up: it cannot exist.
* ``Cursor`` — the ``after`` of keyset pagination: 0..2^31-1.
* ``Count`` — a non-negative counter stored in an INTEGER column: 0..2^31-1.
* ``UTCTimestamp`` — any offset accepted, kept in UTC, within the supported range
  (years 1970..2200): converting an extreme value to UTC cannot overflow.
* ``Day`` — a calendar date written as ISO text, within the same range.
* ``DueTimestamp`` / ``DueDate`` — a deadline: at most ten years ahead, so the
  working-day arithmetic and the follow-up timers that follow from it stay in range.
* ``BoundedJson`` — a free JSON object (an event's detail, a notification's payload):
  at most ``JSON_MAX_DEPTH`` levels and ``JSON_MAX_BYTES`` bytes, so every reader can
  parse and answer it again.

Characters PostgreSQL cannot store (NUL, lone surrogates) are refused for every text
of every request by :mod:`services.common.request_guard`, so they need no type here.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

MAX_DB_ID = 2**31 - 1
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
DUE_HORIZON = timedelta(days=3653)  # ten years
JSON_MAX_DEPTH = 8
JSON_MAX_BYTES = 16 * 1024

DbId = Annotated[int, Interval(ge=1, le=MAX_DB_ID)]
Cursor = Annotated[int, Interval(ge=0, le=MAX_DB_ID)]
Count = Annotated[int, Interval(ge=0, le=MAX_DB_ID)]


def _written_as_text(value: Any) -> Any:
    # The schema says "a string in ISO 8601"; Pydantic would also read 0 as 1970-01-01
    # (a Unix time), which no client means.
    if isinstance(value, (int, float)):
        raise ValueError(  # noqa: TRY004 - Pydantic turns ValueError, not TypeError, into a 422
            "write a date or time as ISO 8601 text, e.g. 2026-03-01 or 2026-03-01T09:00:00+08:00"
        )
    return value


def _to_utc(value: datetime) -> datetime:
    # Bounds checked on the naive wall time first: astimezone() of 0001-01-01T00:00+01:00
    # or 9999-12-31T23:59-01:00 overflows before any comparison could run.
    wall = value.replace(tzinfo=None)
    if not (EARLIEST.replace(tzinfo=None) + timedelta(days=1) <= wall <= LATEST.replace(tzinfo=None) - timedelta(days=1)):
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value.astimezone(UTC)


def _within_horizon(value: datetime) -> datetime:
    latest = datetime.now(UTC) + DUE_HORIZON
    if value > latest:
        raise ValueError(f"a due date lies at most ten years ahead (before {latest:%Y-%m-%d})")
    return value


# Accepts any offset (clients in Asia/Shanghai send +08:00) and keeps UTC, so what is
# answered now equals what is read back later.
UTCTimestamp = Annotated[AwareDatetime, BeforeValidator(_written_as_text), AfterValidator(_to_utc)]
DueTimestamp = Annotated[UTCTimestamp, AfterValidator(_within_horizon)]


def _due_date_in_range(value: date) -> date:
    today = datetime.now(UTC).date()
    if value < EARLIEST.date():
        raise ValueError(f"must lie after {EARLIEST:%Y-%m-%d}")
    if value > today + DUE_HORIZON:
        raise ValueError(f"a due date lies at most ten years ahead (before {today + DUE_HORIZON:%Y-%m-%d})")
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


Day = Annotated[date, BeforeValidator(_written_as_text), AfterValidator(_day_in_range)]
DueDate = Annotated[Day, AfterValidator(_due_date_in_range)]


def json_depth(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0, ``{}`` is 1), without recursion:
    the value may be nested deeper than Python's recursion limit."""
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            depth = max(depth, level + 1)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            depth = max(depth, level + 1)
            stack.extend((v, level + 1) for v in item)
    return depth


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    if (depth := json_depth(value)) > JSON_MAX_DEPTH:
        raise ValueError(f"nested {depth} levels deep; at most {JSON_MAX_DEPTH}")
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > JSON_MAX_BYTES:
        raise ValueError(f"{size} bytes; at most {JSON_MAX_BYTES}")
    return value


BoundedJson = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_json),
    Field(description=f"a JSON object, at most {JSON_MAX_DEPTH} levels deep and {JSON_MAX_BYTES} bytes"),
]
