"""Structured logs (structlog, JSON lines). Log ids, never contact details."""

from __future__ import annotations

import logging
import time

import structlog

#: Records from libraries (the Temporal SDK, uvicorn) keep their time, level and logger:
#: an operator reading a deadlock or a failed activation must be able to place it.
LIBRARY_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, *, service: str) -> None:
    library = logging.Formatter(LIBRARY_FORMAT)
    library.converter = time.gmtime  # UTC, like structlog's own lines
    handler = logging.StreamHandler()
    handler.setFormatter(library)
    logging.basicConfig(handlers=[handler], level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )
    structlog.contextvars.bind_contextvars(service=service)
