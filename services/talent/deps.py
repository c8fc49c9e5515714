"""What talent's routes share: who may call what, and the repeated request's answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from services.common.auth import STAFF_ROLES, Principal, Role, allow

READERS = (*STAFF_ROLES, Role.SERVICE)
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
REPEATED: dict[int | str, dict[str, Any]] = {200: {"description": "Repeated request: the first answer"}}
