"""Properties of the working-day arithmetic, over known, unknown and loaded years."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.deadlines.escalation_policy import (
    PRODUCTION_POLICY,
    EscalationPolicy,
    plan_ladder,
    seconds_policy,
)
from services.common.deadlines.working_days import (
    MakeUpWorkday,
    OfficialCalendar,
    OfficialSchedule,
    ScheduledHoliday,
    add_working_days,
    working_days_between,
)

# A made-up 2028 schedule so that the properties also cover loaded years; package years
# (2004..2026 with chinese_calendar 1.11.0) and fallback years (2027, 2029, ...) are
# covered by the date range.
_SCHEDULE_2028 = OfficialSchedule(
    year=2028,
    holidays=[ScheduledHoliday(date=dt.date(2028, 10, d), name="国庆节") for d in range(1, 8)],
    make_up_workdays=[MakeUpWorkday(date=dt.date(2028, 9, 30)), MakeUpWorkday(date=dt.date(2028, 10, 8))],
    source="test fixture",
)
CALENDARS = [OfficialCalendar(), OfficialCalendar([_SCHEDULE_2028])]

days = st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2030, 12, 31))
counts = st.integers(min_value=-300, max_value=300)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=300, deadline=None)
@given(day=days, n=counts, calendar=calendars)
def test_result_is_a_working_day(day: dt.date, n: int, calendar: OfficialCalendar) -> None:
    assert calendar.is_workday(add_working_days(day, n, calendar).date)


@settings(max_examples=300, deadline=None)
@given(day=days, n=counts, calendar=calendars)
def test_between_inverts_add(day: dt.date, n: int, calendar: OfficialCalendar) -> None:
    result = add_working_days(day, n, calendar).date
    if n == 0 and not calendar.is_workday(day):
        # A day off rolls forward to the next working day, which is also
        # day + 1 working day: the one documented exception.
        assert working_days_between(day, result, calendar) == 1
    else:
        assert working_days_between(day, result, calendar) == n


@settings(max_examples=200, deadline=None)
@given(day=days, n=st.integers(min_value=1, max_value=200), calendar=calendars)
def test_more_working_days_lands_later(day: dt.date, n: int, calendar: OfficialCalendar) -> None:
    # From n = 1 on (n = 0 and n = 1 coincide when day is a day off).
    assert add_working_days(day, 0, calendar).date <= add_working_days(day, 1, calendar).date
    assert add_working_days(day, n, calendar).date < add_working_days(day, n + 1, calendar).date
    assert add_working_days(day, -n, calendar).date < day


@settings(max_examples=200, deadline=None)
@given(day=days, n=counts, calendar=calendars)
def test_provisional_iff_a_fallback_year_was_walked(day: dt.date, n: int, calendar: OfficialCalendar) -> None:
    result = add_working_days(day, n, calendar)
    assert result.provisional == bool(result.provisional_years)
    assert set(result.provisional_years) <= set(calendar.provisional_years_between(day, result.date))
    if not calendar.provisional_years_between(day, result.date):
        assert not result.provisional


@settings(max_examples=100, deadline=None)
@given(due=days, calendar=calendars, policy=st.sampled_from([PRODUCTION_POLICY]))
def test_ladder_fires_in_order_on_working_days(
    due: dt.date, calendar: OfficialCalendar, policy: EscalationPolicy
) -> None:
    plan = plan_ladder(due, policy, calendar)
    assert [s.level for s in plan] == sorted({s.level for s in plan})
    assert all(a.fire_at < b.fire_at for a, b in zip(plan, plan[1:]))
    for step in plan:
        local_day = policy.clock.local_date(step.fire_at)
        assert calendar.is_workday(local_day)


@settings(max_examples=50, deadline=None)
@given(
    due=st.datetimes(
        min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.timezone.utc)
    ),
    scale=st.sampled_from([0.1, 0.5, 1, 2, 3600]),
)
def test_seconds_ladder_is_due_plus_scaled_offsets(due: dt.datetime, scale: float) -> None:
    policy = seconds_policy(scale)
    plan = plan_ladder(due, policy, CALENDARS[0])
    for step, planned in zip(PRODUCTION_POLICY.steps, plan):
        assert planned.fire_at == due + dt.timedelta(seconds=round(step.offset * scale, 3))
        assert not planned.provisional
