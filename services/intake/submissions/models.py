"""The public column's rate counters (rate_limits.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime

from ..base import Base


class RateCounter(Base):
    """Requests of one sender in one fixed window: (scope, key, window) counts up by an
    atomic upsert, so concurrent requests each see their own count."""

    __tablename__ = "rate_counters"

    # Who is counted, and over which period: "address:60" (per minute), "resident:3600"...
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    # sha256 of the client address or of the resident's token subject.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # floor(epoch seconds / period): the window's number.
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    # When the row stops mattering; pruned past it.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
