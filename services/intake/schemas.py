"""Intake's API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.vocabulary import Channel


def _no_control_characters(value: str) -> str:
    bad = [c for c in value if (ord(c) < 32 and c not in "\n\t\r") or 0x7F <= ord(c) < 0xA0]
    if bad:
        raise ValueError(f"must not contain control characters (found U+{ord(bad[0]):04X})")
    return value.strip()


class TopicCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, description="议题标题")
    content: str = Field(min_length=1, max_length=5000, description="议题内容")
    channel: Channel = Field(description="来源渠道 (one of the seven channels)")

    _clean = field_validator("title", "content")(_no_control_characters)

    @field_validator("title", "content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be blank")
        return value


class TopicRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    channel: Channel
    created_at: datetime
    workflow_id: str
    stage: str | None = Field(
        description="Read from the topic's ConsultationWorkflow ('pending' until it runs); "
        "null in listings, which read stored data only"
    )


class TopicPage(BaseModel):
    items: list[TopicRead]
    total: int
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")
