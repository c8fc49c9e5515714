"""Two-way evaluation routes (双向评价)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.auth import Principal, Role, allow
from services.common.db import Session

from . import service
from .models import ConsultationRating, DepartmentRating
from .schemas import (
    ConsultationRatingCreate,
    ConsultationRatingRead,
    DepartmentRatingCreate,
    DepartmentRatingRead,
)

router = APIRouter(prefix="/ratings", tags=["two-way evaluation 双向评价"])


@router.post("/consultations", response_model=ConsultationRatingRead, status_code=201,
             responses={409: {"description": "This rater rated this consultation on this aspect already"}},
             summary="Rate the CPPCC's topic selection or outcome quality (departments, party and government, public)")
async def rate_consultation(
    data: ConsultationRatingCreate, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.DEPARTMENT, Role.CLERK, Role.PUBLIC))],
) -> ConsultationRatingRead:
    rating = await service.record_rating(session, ConsultationRating, data.model_dump(), principal)
    return ConsultationRatingRead.model_validate(rating)


@router.post("/departments", response_model=DepartmentRatingRead, status_code=201,
             summary="Rate an implementing department through a supervision means (members, committees)")
async def rate_department(
    data: DepartmentRatingCreate, session: Session,
    principal: Annotated[Principal, Depends(allow(Role.COMMITTEE, Role.CHAIR, Role.CLERK))],
) -> DepartmentRatingRead:
    rating = await service.record_rating(session, DepartmentRating, data.model_dump(), principal)
    return DepartmentRatingRead.model_validate(rating)
