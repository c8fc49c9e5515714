"""What intake's routes share: who reads, the duplicate index, the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.common.auth import Role

from .topics.index import TopicIndex

READERS = (Role.CLERK, Role.CHAIR, Role.COMMITTEE, Role.OPERATOR, Role.SERVICE)


def topic_index(request: Request) -> TopicIndex:
    """One index per process, built from the stored signatures at first use."""
    index = getattr(request.app.state, "topic_index", None)
    if index is None:
        index = request.app.state.topic_index = TopicIndex()
    return index


Index = Annotated[TopicIndex, Depends(topic_index)]


def respond(status: int, body: BaseModel | dict[str, Any]) -> JSONResponse:
    """A route's answer: ``body`` as JSON, with ``status``.
    (Idempotency-Key and the audit trail are the request guard's: services/common/writes.py.)"""
    return JSONResponse(body.model_dump(mode="json") if isinstance(body, BaseModel) else body, status_code=status)
