"""The public page (答复公开) and its JSON read API, served by intake without a token.

HTML (server-rendered with Jinja2, not in the OpenAPI document):
  /public/page                      the year's plan (1+2+4+X) and the online column
  /public/page/topics/{id}          one consultation: stage, venue, draw, commitments
  /public/page/column.js            the online column's script (session, submit, status, 联名)
JSON (in the OpenAPI without x-roles: no token is needed, like talent's /public/draws):
  /public/plans/{year}, /public/topics/{id}

Why server-rendered: docs/architecture.md ("The public page").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from services.common.db import Session
from services.common.problems import Problem
from services.common.types import DbId

from . import service
from .schemas import PublicPlan, PublicTopic

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    FORMAT_NAMES=service.FORMAT_NAMES,
    FORMAT_TARGETS=service.FORMAT_TARGETS,
    RATING_NAMES=service.RATING_NAMES,
    DRAW_STATUS_NAMES=service.DRAW_STATUS_NAMES,
)

YearPath = Annotated[int, PathParam(ge=2000, le=2100)]

api = APIRouter(prefix="/public", tags=["public 公示 · 答复公开"])
pages = APIRouter(prefix="/public/page", include_in_schema=False)

# Pages change as consultations move and a resident reloads to see it: never stale.
CACHE = {"Cache-Control": "no-cache"}
# The page loads nothing from elsewhere: its own script, no frames, no outside fonts.
SECURITY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@api.get("/plans/{year}", response_model=PublicPlan,
         summary="A year's consultation plan on the 1+2+4+X platform, as published (no token)")
async def public_plan(year: YearPath, session: Session) -> PublicPlan:
    return await service.read_plan(session, year)


@api.get("/topics/{topic_id}", response_model=PublicTopic,
         summary="One consultation as published: stage, venue, draw announcements, commitments, replies (no token)")
async def public_topic(topic_id: DbId, request: Request, session: Session) -> PublicTopic:
    return await service.read_topic(session, request.app, topic_id)


def _html(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update({**CACHE, **SECURITY})
    return response


@pages.get("", response_class=HTMLResponse)
async def index_page(
    request: Request, session: Session, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    year = year or service.this_year()
    plan = await service.read_plan(session, year)
    by_format = {fmt: [e for e in plan.entries if e.format == fmt] for fmt in service.FORMAT_NAMES}
    return _html(request, "index.html", {"plan": plan, "by_format": by_format, "year": year})


@pages.get("/topics/{topic_id}", response_class=HTMLResponse)
async def topic_page(topic_id: DbId, request: Request, session: Session) -> HTMLResponse:
    try:
        topic = await service.read_topic(session, request.app, topic_id)
    except Problem as problem:
        if problem.status != 404:
            raise
        return _html(request, "not_found.html", {"topic_id": topic_id}, status_code=404)
    return _html(request, "topic.html", {"topic": topic})


@pages.get("/column.js")
async def column_script() -> Response:
    return FileResponse(HERE / "column.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


routers = (api, pages)
