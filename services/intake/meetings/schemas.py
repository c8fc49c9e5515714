"""Consultation meeting records (协商议事会)."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Role
from services.common.types import DueDate, UTCTimestamp

from ..fields import Code, Name, text


class AttendeeCategory(str, enum.Enum):
    MEMBER = "member"  # 政协委员
    TALENT = "talent"  # 协商人才
    PUBLIC_REPRESENTATIVE = "public_representative"  # 群众代表
    DEPARTMENT = "department"  # 部门
    LEADER = "leader"  # 分管县领导
    OTHER = "other"


class AttendeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    category: AttendeeCategory
    organisation: Name | None = None


class CommitmentIn(BaseModel):
    """承诺: owner, content, deadline."""

    model_config = ConfigDict(extra="forbid")

    owner_department: Name
    content: text(2000, "承诺内容")  # type: ignore[valid-type]
    due_date: DueDate


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_at: UTCTimestamp
    venue: Code | None = None
    minutes: text(20000, "会议纪要")  # type: ignore[valid-type]
    consensus: text(5000, "协商共识")  # type: ignore[valid-type]
    attendance: list[AttendeeIn] = Field(min_length=1, max_length=500)
    commitments: list[CommitmentIn] = Field(default_factory=list, max_length=100)


class AttendeeRead(AttendeeIn):
    model_config = ConfigDict(from_attributes=True)

    name: str | None = Field(description="clerks only (need to know); null for every other role")  # type: ignore[assignment]


class CommitmentRead(CommitmentIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


class MeetingRead(BaseModel):
    id: int
    topic_id: int
    held_at: datetime
    venue: str | None
    minutes: str
    consensus: str
    attendance: list[AttendeeRead]
    commitments: list[CommitmentRead]
    created_at: datetime

    def for_role(self, role: Role) -> MeetingRead:
        """Need to know: attendees' names are the office's, which invites and records;
        every other reader sees who came as what (category, organisation), not who."""
        if role is Role.CLERK:
            return self
        return self.model_copy(update={"attendance": [a.model_copy(update={"name": None}) for a in self.attendance]})
