"""Notifications' API shapes, and the guard that keeps contact data out of them."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.common.types import BoundedJson

from .models import NotificationStatus

PAYLOAD_MAX_BYTES = 16 * 1024
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]+$"
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
# "<type>:<id>", e.g. "department:教育体育局", "committee:教科卫体委", "role:clerk".
RECIPIENT_PATTERN = r"^[a-z][a-z_]{0,29}:[^\s:][^\s]{0,99}$"

# Notifications carry ids, vocabulary values and titles. Contact data stays in the
# records of the service that owns it; a receiver that must phone someone looks it up.
_CONTACT_KEYS = frozenset(
    {"phone", "mobile", "tel", "telephone", "cellphone", "email", "mail", "e_mail", "wechat", "weixin", "qq",
     "id_card", "idcard", "id_number", "identity_number", "address", "home_address"}
)
_CONTACT_PATTERNS = (
    ("a mobile phone number", re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")),
    ("a landline number", re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")),
    ("a resident identity number", re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")),
    ("an e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
)


def contact_data_problems(value: Any, path: str = "payload") -> list[str]:
    """Where ``value`` looks like it carries contact data; empty when it does not."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            norm = re.sub(r"[\s-]+", "_", str(key).strip().lower())
            if norm in _CONTACT_KEYS:
                found.append(f"{path}.{key}: key '{key}' names contact data")
            found.extend(contact_data_problems(item, f"{path}.{key}"))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found.extend(contact_data_problems(item, f"{path}[{i}]"))
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value)
        for what, pattern in _CONTACT_PATTERNS:
            if pattern.search(text):
                found.append(f"{path}: looks like {what}")
    return found


def _no_contact_data(value: Any) -> Any:
    problems = contact_data_problems(value, "")
    if problems:
        raise ValueError("no contact data in notifications (" + "; ".join(p.lstrip(".") for p in problems) + ")")
    return value


def _small_payload(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > PAYLOAD_MAX_BYTES:
        raise ValueError(f"payload is {size} bytes; at most {PAYLOAD_MAX_BYTES}")
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Recipient = Annotated[str, StringConstraints(pattern=RECIPIENT_PATTERN, max_length=131)]


class NotificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=60, pattern=KIND_PATTERN,
                      description="What happened, e.g. escalation.urge (催办), commitment.reminder")
    recipients: Annotated[
        list[Recipient], Field(min_length=1, max_length=50), AfterValidator(_unique), AfterValidator(_no_contact_data)
    ] = Field(description="Recipient ids or roles as <type>:<id>, e.g. department:教育体育局; never phone numbers")
    payload: Annotated[BoundedJson, AfterValidator(_small_payload), AfterValidator(_no_contact_data)] = Field(
        default_factory=dict, description="Ids, vocabulary values and titles; no personal contact data"
    )


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    endpoint: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    idempotency_key: str | None
    kind: str
    recipients: list[str]
    payload: dict[str, Any]
    created_at: datetime
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None


class NotificationDetail(NotificationRead):
    deliveries: list[DeliveryRead] = Field(
        description="One per configured webhook endpoint; empty until the delivery loop has planned them"
    )


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    total: int
    next_after: int | None
