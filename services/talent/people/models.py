"""The pool (协商人才库): people and the files they were imported from."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # talent (协商人才) | member (政协委员) | public_rep (群众代表)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    display_name: Mapped[str] = mapped_column(String(60))
    # fields of the controlled vocabulary (services/talent/vocabulary.py)
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    # free tags (e.g. 儿科, 民办学校); not used by draws
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # "|学前教育|基础教育|" and "|儿科|": filtering a JSON list the same way on SQLite and
    # PostgreSQL needs a plain string; kept in step by service.py
    expertise_key: Mapped[str] = mapped_column(String(400), default="|", server_default="|")
    tags_key: Mapped[str] = mapped_column(String(800), default="|", server_default="|")
    sector: Mapped[str | None] = mapped_column(String(60))  # 界别
    town: Mapped[str | None] = mapped_column(String(60), index=True)  # 镇（街道）
    gender: Mapped[str | None] = mapped_column(String(10))
    age_band: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # availability: not drawn while this date is today or later (travel, illness, ...)
    unavailable_until: Mapped[date | None] = mapped_column(Date)
    # declared conflicts of interest: not drawn when a draw concerns one of them
    conflict_departments: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    conflict_organisations: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    last_drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Personal data: returned to clerks only, never logged, never in workflow payloads.
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(120))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("people_imports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), onupdate=utcnow)


class PeopleImport(Base):
    """One imported file (CSV or XLSX): all its rows were stored in one transaction."""

    __tablename__ = "people_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(10))
    rows: Mapped[int] = mapped_column(Integer)
    file_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
