"""Evaluation's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common.types import BoundedJson, DbId, UTCTimestamp


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_key: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$",
                           description="Idempotency key: an event with a known key is recorded once")
    kind: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    topic_id: DbId
    occurred_at: UTCTimestamp
    detail: BoundedJson = Field(default_factory=dict)


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_key: str
    kind: str
    topic_id: int
    occurred_at: datetime
    recorded_at: datetime
    detail: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventRead]
    total: int
    next_after: int | None
