"""Rules of proposal handling without a stack: the cap on extensions (six months past the
original due date, on the official calendar and on a seconds scale) and the on-time
rate as the practice reads it (overdue and never completed is late)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.common.deadlines.working_days import OfficialCalendar
from services.common.settings import Settings
from services.evaluation.commitments.models import Commitment
from services.evaluation.handling.hooks import extension_limit
from services.evaluation.scorecards.service import _timeliness

UTC = timezone.utc


def _commitment(due: datetime, *, completed: datetime | None = None, scale: float | None = None) -> Commitment:
    return Commitment(department="教育体育局", content="x", original_due_at=due, due_at=due, policy={},
                      created_by="t", created_at=due - timedelta(days=90), working_day_seconds=scale,
                      completed_at=completed, reopenings=0)


def test_extensions_reach_six_months_past_the_original_due_date() -> None:
    # Due Friday 2026-03-13 17:30 CST; six months later is Sunday 2026-09-13: the next working day.
    due = datetime(2026, 3, 13, 9, 30, tzinfo=UTC)
    limit = extension_limit(_commitment(due), Settings(), OfficialCalendar())
    assert limit == datetime(2026, 9, 14, 9, 30, tzinfo=UTC)
    # Month ends clamp: 31 August + 6 months is the last day of February.
    end = datetime(2026, 8, 31, 9, 30, tzinfo=UTC)
    assert extension_limit(_commitment(end), Settings(reply_limit_months=6), OfficialCalendar()).date() == \
        datetime(2027, 3, 1).date()  # 2027-02-28 is a Sunday
    # Seconds scale: 6 months = 126 working days of 0.1 s.
    assert extension_limit(_commitment(due, scale=0.1), Settings(), OfficialCalendar()) == due + timedelta(seconds=12.6)
    assert extension_limit(_commitment(due, scale=0.1), Settings(reply_limit_months=1), OfficialCalendar()) == \
        due + timedelta(seconds=2.1)


def test_overdue_and_never_completed_counts_as_late() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    never = _commitment(now - timedelta(days=1))
    assert _timeliness([never], now) == (0, 1, 0.0)
    not_yet_due = _commitment(now + timedelta(days=1))
    assert _timeliness([not_yet_due], now) == (0, 0, None)
    on_time = _commitment(now - timedelta(days=5), completed=now - timedelta(days=6))
    late = _commitment(now - timedelta(days=5), completed=now - timedelta(days=2))
    assert _timeliness([on_time, late, never, not_yet_due], now) == (1, 2, 0.333)
