"""Evaluation service (评价): commitments, follow-up records and the two-way evaluation.

    uvicorn services.evaluation.main:app --port 8003
"""

from __future__ import annotations

from services.common.service_app import create_service_app

from .events.views import router as events_router

app = create_service_app(
    "evaluation",
    title="Xieshang evaluation (协商 · 评价)",
    description="Consultation events, commitments (承诺), follow-up and the two-way evaluation (双向评价).",
    routers=[events_router],
)
