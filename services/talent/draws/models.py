"""Draws (抽选): one row per consultation and round, in two phases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


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
