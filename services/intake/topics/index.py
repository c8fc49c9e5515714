"""The near-duplicate index of open topics, kept in step with the database.

Each topic's MinHash signature is stored with it (``topics.signature``), so the
in-memory ``DuplicateIndex`` is rebuilt from the database at the first query and then
caught up with topics added since (by any replica: ``sync`` reads ids above the last
one seen). A candidate whose topic is no longer open (rejected, merged, decided by
another replica) is checked against the database and dropped from the index.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..duplicates import DuplicateIndex, TopicSignature
from .models import Topic

# A submission can join a topic while it waits for the chair or its consultation runs
# (support still counts during follow-up); closed, rejected and merged topics are done.
OPEN_STAGES = ("submitted", "accepted", "research", "drawing", "inviting", "meeting", "follow_up", "evaluation")


class TopicIndex:
    def __init__(self) -> None:
        self._index = DuplicateIndex()

    async def sync(self, session: AsyncSession) -> None:
        open_ids = set(
            (
                await session.scalars(
                    select(Topic.id).where(Topic.stage.in_(OPEN_STAGES), Topic.signature.is_not(None))
                )
            ).all()
        )
        known = set(self._index.topic_ids())
        self.forget(sorted(known - open_ids))
        missing = sorted(open_ids - known)
        for start in range(0, len(missing), 500):
            rows = await session.execute(
                select(Topic.id, Topic.signature).where(Topic.id.in_(missing[start : start + 500]))
            )
            stale = []
            for topic_id, data in rows:
                try:
                    self._index.add_signature(topic_id, TopicSignature.from_bytes(data))
                except ValueError:  # an older SIGNATURE_VERSION (e.g. before personal data was masked)
                    stale.append(topic_id)
            await self._resign(session, stale)

    async def _resign(self, session: AsyncSession, topic_ids: Sequence[int]) -> None:
        """Signatures of an older version are computed again from the topic's text, stored
        and indexed (what the topic was registered with: title and content)."""
        if not topic_ids:
            return
        for topic in (await session.scalars(select(Topic).where(Topic.id.in_(topic_ids)))).all():
            topic.signature = self.add(topic.id, topic_text(topic.title, topic.content))
        await session.flush()  # committed with the caller's transaction

    async def best_open_match(self, session: AsyncSession, text: str) -> tuple[int, float] | None:
        """The most similar open topic at or above the threshold, if any."""
        await self.sync(session)
        matches = self._index.query(text, limit=1)
        return (int(matches[0][0]), matches[0][1]) if matches else None  # type: ignore[arg-type]

    def add(self, topic_id: int, text: str) -> bytes:
        """Index a new topic; returns the signature to store with it."""
        return self._index.add(topic_id, text).to_bytes()

    def forget(self, topic_ids: Sequence[int]) -> None:
        for topic_id in topic_ids:
            self._index.remove(topic_id)


def topic_text(title: str, content: str) -> str:
    return f"{title}\n{content}"
