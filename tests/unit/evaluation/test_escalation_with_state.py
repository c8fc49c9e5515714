"""A rung's record carrying the commitment's state (state-with-record-v1): evaluation
stores the event, its notification and the state in one transaction, and a duplicate of
the record (a retried or late activity) applies no state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import create_engine, session_factory
from services.evaluation.base import Base
from services.evaluation.commitments import service
from services.evaluation.commitments.models import Commitment, EscalationEvent
from services.evaluation.commitments.schemas import (
    CommitmentStateUpdate,
    EscalationEventCreate,
)
from services.evaluation.notifications.models import Notification

DUE = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/evaluation.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with session_factory(engine)() as s:
        s.add(Commitment(id=7, consultation_topic_id=1, department="教育体育局", content="新建公办幼儿园",
                         original_due_at=DUE, due_at=DUE, policy={}, created_by="clerk"))
        await s.commit()
        yield s
    await engine.dispose()


def state(level: int, status: str = "open") -> dict:
    return {"commitment_id": 7, "state_key": f"{status}:{level}:0:0:{DUE.isoformat()}", "status": status,
            "escalation_level": level, "due_at": DUE.isoformat(), "reopenings": 0}


def record(step: str, level: int, **extra: object) -> EscalationEventCreate:
    return EscalationEventCreate.model_validate({
        "commitment_id": 7, "event_key": f"commitment-7-g0-{step}", "step": step, "level": level, "generation": 0,
        "planned_at": (DUE + timedelta(seconds=level)).isoformat(), "fired_at": DUE.isoformat(),
        "summary": f"{step} (level {level})", **extra,
    })


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_record_stores_the_state_with_the_event_and_its_notice(session: AsyncSession) -> None:
    commitment = await session.get(Commitment, 7)
    assert commitment is not None and commitment.escalation_level == 0
    event, created = await service.record_escalation(session, commitment, record("urge", 1, state=state(1)))
    assert created and event.level == 1
    session.expire_all()
    commitment = await session.get(Commitment, 7)
    assert commitment is not None and (commitment.status, commitment.escalation_level) == ("open", 1)
    assert await count(session, EscalationEvent) == 1 and await count(session, Notification) == 1


async def test_a_duplicate_record_applies_no_state(session: AsyncSession) -> None:
    commitment = await session.get(Commitment, 7)
    assert commitment is not None
    await service.record_escalation(session, commitment, record("urge", 1, state=state(1)))
    # A later state reached evaluation (e.g. the next rung's record, or a sync)...
    await service.apply_state(session, commitment, CommitmentStateUpdate.model_validate(state(2)))
    # ...then a late duplicate of the first record: nothing is stored, the state stays.
    _, created = await service.record_escalation(session, commitment, record("urge", 1, state=state(1)))
    assert not created
    session.expire_all()
    commitment = await session.get(Commitment, 7)
    assert commitment is not None and commitment.escalation_level == 2
    assert await count(session, EscalationEvent) == 1 and await count(session, Notification) == 1


async def test_a_record_without_state_leaves_the_mirror_alone(session: AsyncSession) -> None:
    """Follow-ups from before the patch record, then sync apart."""
    commitment = await session.get(Commitment, 7)
    assert commitment is not None
    await service.record_escalation(session, commitment, record("urge", 1))
    session.expire_all()
    commitment = await session.get(Commitment, 7)
    assert commitment is not None and commitment.escalation_level == 0
    assert await count(session, EscalationEvent) == 1


def test_the_state_must_be_the_events_commitments() -> None:
    with pytest.raises(ValidationError, match="state.commitment_id"):
        record("urge", 1, state={**state(1), "commitment_id": 8})
    with pytest.raises(ValidationError, match="closed_at"):
        record("urge", 1, state=state(1, status="closed"))
