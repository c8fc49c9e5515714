"""Talent service (人才): the consultation talent pool and fair draws.

    uvicorn services.talent.main:app --port 8002 --no-proxy-headers
"""

from __future__ import annotations

from services.common.service_app import create_service_app

from .base import Base
from .draws.views import public_router as public_draws_router
from .draws.views import router as draws_router
from .people.views import router as people_router

app = create_service_app(
    "talent",
    metadata=Base.metadata,
    title="Xieshang talent (协商 · 人才库)",
    description="Consultation talents (协商人才), members and public representatives; fair, verifiable draws.",
    routers=[people_router, draws_router, public_draws_router],
)
