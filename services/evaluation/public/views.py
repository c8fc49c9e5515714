"""The public read API (答复公开): no token, no personal data, read only.

What the public page (and a WeChat official account linking to it) shows of what
became of each consultation's commitments.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.common.db import Session
from services.common.types import DbId

from . import service
from .schemas import PublicCommitmentPage

router = APIRouter(prefix="/public", tags=["public 公开"])


@router.get("/commitments", response_model=PublicCommitmentPage,
            summary="Commitments as the public sees them: replies that passed the disclosure review, satisfaction")
async def public_commitments(
    session: Session,
    topic_id: Annotated[DbId | None, Query(description="Only this consultation topic's commitments")] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
                                        description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PublicCommitmentPage:
    return await service.public_commitments(session, topic_id=topic_id, cursor=cursor, limit=limit)
