"""Organisers (承办/组织单位) and venues (场所)."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict

from ..fields import Address, Code, Name


class OrganiserKind(str, enum.Enum):
    SPECIAL_COMMITTEE = "special_committee"  # 专委会
    SECTOR_STUDIO = "sector_studio"  # 界别工作室
    TOWN_STUDIO = "town_studio"  # 同心圆工作室
    LIAISON_STUDIO = "liaison_studio"  # 联络工作室


class VenueKind(str, enum.Enum):
    HALL = "hall"  # fixed meeting halls
    LIAISON_STUDIO = "liaison_studio"
    SECTOR_STUDIO = "sector_studio"
    TOWN_STUDIO = "town_studio"


class OrganiserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    kind: OrganiserKind


class OrganiserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: OrganiserKind


class VenueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    kind: VenueKind
    address: Address | None = None


class VenueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: VenueKind
    address: str | None
