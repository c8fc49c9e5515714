"""Talent's records: people in the pool (协商人才库) and beyond, and their draws (抽选)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, new_metadata, utcnow
from services.common.idempotency import idempotency_table


class Base(DeclarativeBase):
    metadata = new_metadata()


# Answers of POST requests sent with an Idempotency-Key (services/common/idempotency.py).
IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)


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
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
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
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class Draw(Base):
    """One draw (抽选) of a consultation's participants, or a replacement round.

    Stored in two phases: first the portfolio (the lottery), its hash and the commitment
    to the secret (status ``committed``), then the panel derived from them (``drawn``).
    """

    __tablename__ = "draws"
    __table_args__ = (UniqueConstraint("consultation_id", "round", name="uq_draws_consultation_id_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(Integer, index=True)
    round: Mapped[int] = mapped_column(Integer)
    replaces_draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))
    # the normalised request and its SHA-256: a repeated (consultation, round) with
    # another request is a conflict, the same request gets the stored draw
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="committed")  # committed | drawn
    # who was left out and why (ids only), for the record and for audits
    exclusions: Mapped[dict[str, Any]] = mapped_column(JSON)
    # everyone who declined in this round and the rounds before it
    declined_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    portfolio: Mapped[dict[str, Any]] = mapped_column(JSON)
    portfolio_hash: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    # revealed in the export once the panel is drawn (the commitment binds it)
    secret: Mapped[str] = mapped_column(String(64))
    public_randomness: Mapped[str | None] = mapped_column(String(500))
    # announced in phase 1 when the public value does not exist yet (a coming lottery
    # draw, a future drand round): the draw then waits for POST /draws/{id}/reveal
    public_randomness_source: Mapped[str | None] = mapped_column(String(500))
    # when the announced value becomes public (the reveal is refused before) and its
    # format (checked at the reveal): "lottery" (RFC 3797 numbers) or "beacon" (hex)
    public_randomness_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    public_randomness_format: Mapped[str | None] = mapped_column(String(20))
    # voiding is an explicit, public act with a reason; a voided draw stays listed
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_by: Mapped[str | None] = mapped_column(String(100))
    min_probability: Mapped[float] = mapped_column(Float)
    algorithm_version: Mapped[str] = mapped_column(String(40))
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    panel: Mapped[list[int]] = mapped_column(JSON, default=list)
    drawn: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
