"""Talent's API shapes. Contact details are never part of any response."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PersonKind = Literal["talent", "member", "public_rep"]


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PersonKind = Field(description="talent 协商人才 | member 政协委员 | public_rep 群众代表")
    display_name: str = Field(min_length=1, max_length=60)
    expertise: list[str] = Field(default_factory=list, max_length=20)
    sector: str | None = Field(default=None, max_length=60)
    town: str | None = Field(default=None, max_length=60)
    gender: Literal["female", "male"] | None = None
    active: bool = True


class PersonRead(PersonCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime


class PersonPage(BaseModel):
    items: list[PersonRead]
    total: int
    next_after: int | None
