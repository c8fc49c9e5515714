"""Topics (议题) and every submission behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow

from ..base import Base


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    # The channel of the submission that opened it.
    channel: Mapped[str] = mapped_column(String(40), index=True)
    # The principal who registered it (a token subject, never contact details).
    registered_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Null until ConsultationWorkflow is known to run; the reconciler starts the rest.
    workflow_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Mirror of the workflow's stage as far as intake's own decisions moved it, so
    # listings can filter without asking Temporal per row.
    stage: Mapped[str] = mapped_column(String(20), default="submitted", server_default="submitted", index=True)
    # normalise_for_matching(title + content): free-text search with LIKE on both backends.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # duplicates.TopicSignature.to_bytes(); rebuilt into the in-memory index at start.
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))

    # The reconciler looks for topics without a signature every few seconds: a partial
    # index holds only those (normally none), so the look-up costs nothing at any size.
    # On PostgreSQL, migration 0005_speed also adds bigram GIN indexes
    # (``xieshang_bigrams``) on search_text and the submissions' normalised text for free
    # text `q` (PostgreSQL only, so they are not declared here; see docs/benchmarks.md).
    __table_args__ = (
        Index("ix_topics_without_signature", "id", sqlite_where=text("signature IS NULL"),
              postgresql_where=text("signature IS NULL")),
        # channel + stage listings: the capped count and the keyset page (0009_listing).
        Index("ix_topics_channel_stage_id", "channel", "stage", "id"),
    )


class Submission(Base):
    """One submission as received: raw and normalised, with its channel and time.

    ``contact`` and ``submitter_name`` are personal data: stored for the office, never
    logged, never in a workflow payload or search attribute.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_submitted_by_received_at", "submitted_by", "received_at"),
        Index("ix_submissions_client_key_received_at", "client_key", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Null while held for moderation or after it was rejected.
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # SubmissionStatus
    # How it came to its topic: opened it, near-duplicate, merged or split by staff.
    joined_as: Mapped[str | None] = mapped_column(String(20))
    # The topic it stood behind before its first merge (并案): its submitter still hears
    # what becomes of that topic (residents/service.py: topic_submitters).
    merged_from_topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    similarity: Mapped[float | None] = mapped_column(Float)
    # As received (control characters excepted, which validation refuses).
    title_raw: Mapped[str] = mapped_column(String(200))
    content_raw: Mapped[str] = mapped_column(Text)
    # normalise_for_matching of title and content.
    title_normalised: Mapped[str] = mapped_column(Text)
    content_normalised: Mapped[str] = mapped_column(Text)
    # Channel-specific fields.
    office: Mapped[str | None] = mapped_column(String(100))  # 县委/政府 office that assigned or requested
    member_name: Mapped[str | None] = mapped_column(String(100))  # the CPPCC member (委员)
    sector: Mapped[str | None] = mapped_column(String(100))  # 界别
    liaison_group: Mapped[str | None] = mapped_column(String(100))  # 镇（街道）联络组
    submitter_name: Mapped[str | None] = mapped_column(String(100))  # public: optional
    contact: Mapped[str | None] = mapped_column(String(200))  # public: optional; personal data
    # The token subject that sent it (rate limits, supporters).
    submitted_by: Mapped[str] = mapped_column(String(100))
    # sha256 of the client address: enough for the per-address rate limit, not the address.
    client_key: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    spam_score: Mapped[float | None] = mapped_column(Float)
    screening_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    repaired_text: Mapped[str | None] = mapped_column(Text)
    moderated_by: Mapped[str | None] = mapped_column(String(100))
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moderation_note: Mapped[str | None] = mapped_column(Text)
