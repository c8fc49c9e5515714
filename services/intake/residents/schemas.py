"""The residents' API shapes: public sessions, co-signatures, a topic's submitters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DeviceId = Annotated[str, Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$",
                                description="A random id the page generated once and keeps on this device")]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId
    code: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")] | None = Field(
        None, description="The WeChat web authorisation code (provider wechat); the dev provider ignores it")


class SessionRead(BaseModel):
    token: str = Field(description="A public bearer token, bound to this device: send X-Xieshang-Device with it")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    provider: str = Field(description="Who vouched for the resident: dev or wechat")
    resident: str = Field(description="The resident's pseudonymous id (no name, no phone number)")


class CosignRead(BaseModel):
    topic_id: int = Field(description="The topic co-signed (a merged topic's co-signature goes to the topic it joined)")
    cosigned: bool = True
    cosigners: int = Field(description="How many residents have co-signed this topic")
    signed_at: datetime


class SubmittersRead(BaseModel):
    topic_id: int
    topics: list[int] = Field(description="This topic and every topic merged into it (并案)")
    recipients: list[str] = Field(
        description="Every submitter of every merged submission and every co-signer, once: resident:<subject> for "
        "residents, submission:<id> for submissions the office registered (the receiver looks up whom to tell)")
    submissions: int
    cosigners: int
