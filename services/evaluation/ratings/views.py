"""Two-way evaluation routes (双向评价)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, allow
from services.common.db import get_session

from . import service
from .models import ConsultationRating, DepartmentRating
from .schemas import (
    ConsultationRatingCreate,
    ConsultationRatingRead,
    DepartmentRatingCreate,
    DepartmentRatingRead,
)

router = APIRouter(prefix="/ratings", tags=["two-way evaluation 双向评价"])
Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


@router.post("/consultations", response_model=ConsultationRatingRead, status_code=201,
             summary="Rate the CPPCC's topic selection or outcome quality (departments, party and government, public)")
async def rate_consultation(
    data: ConsultationRatingCreate, response: Response, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.DEPARTMENT, Role.CLERK, Role.PUBLIC))],
    idempotency_key: IdempotencyKey = None,
) -> ConsultationRatingRead:
    rating, created = await service.record_rating(
        session, ConsultationRating, data.model_dump(), principal, idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ConsultationRatingRead.model_validate(rating)


@router.post("/departments", response_model=DepartmentRatingRead, status_code=201,
             summary="Rate an implementing department through a supervision means (members, committees)")
async def rate_department(
    data: DepartmentRatingCreate, response: Response, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.COMMITTEE, Role.CHAIR, Role.CLERK))],
    idempotency_key: IdempotencyKey = None,
) -> DepartmentRatingRead:
    rating, created = await service.record_rating(
        session, DepartmentRating, data.model_dump(), principal, idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return DepartmentRatingRead.model_validate(rating)
