"""What talent's routes depend on: the session, the Idempotency-Key header of the
people's writes, and who may call what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import STAFF_ROLES, Principal, Role, allow
from services.common.db import get_session

Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="A retried request with the same key returns the first answer"),
]
READERS = (*STAFF_ROLES, Role.SERVICE)
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
REPEATED: dict[int | str, dict[str, Any]] = {200: {"description": "Repeated request: the first answer"}}
