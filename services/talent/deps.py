"""What talent's routes depend on: the session, and who may call what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import STAFF_ROLES, Principal, Role, allow
from services.common.db import get_session

Session = Annotated[AsyncSession, Depends(get_session)]
READERS = (*STAFF_ROLES, Role.SERVICE)
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
REPEATED: dict[int | str, dict[str, Any]] = {200: {"description": "Repeated request: the first answer"}}
