"""The escalation policy as data, and planning the ladder for a commitment."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from services.common.deadlines.escalation_policy import (
    DEMO_POLICY,
    PRODUCTION_POLICY,
    EscalationPolicy,
    EscalationStep,
    Interval,
    OffsetUnit,
    StepName,
    decide_after_unsatisfied,
    due_deadline,
    next_progress_report_due,
    plan_ladder,
    reached_level,
    seconds_policy,
    steps_due,
    steps_pending,
)
from services.common.deadlines.working_days import (
    OfficialCalendar,
    OfficialSchedule,
    ScheduledHoliday,
    WorkingDayClock,
    working_days_between,
)

D = dt.date
UTC = dt.timezone.utc
CALENDAR = OfficialCalendar()
WD = OffsetUnit.working_days
S = OffsetUnit.seconds


def at_1730_cst(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def policy(steps: list[dict], **overrides) -> EscalationPolicy:
    data = {
        "name": "test",
        "steps": steps,
        "progress_report_every": {"amount": 60, "unit": "working_days"},
        "reopen_handling_period": {"amount": 20, "unit": "working_days"},
        "max_reopenings": 1,
    }
    data.update(overrides)
    return EscalationPolicy.model_validate(data)


# --------------------------------------------------------------------------- validation


def test_production_policy_is_the_documented_ladder() -> None:
    assert [(s.name.value, s.level, s.label_zh, s.offset, s.unit) for s in PRODUCTION_POLICY.steps] == [
        ("reminder", 0, "到期提醒", -10, WD),
        ("urge", 1, "催办", 1, WD),
        ("committee_supervision", 2, "督办", 10, WD),
        ("meeting_supervision", 3, "会议督办", 20, WD),
        ("circulated_notice", 4, "文件通报", 30, WD),
    ]
    assert PRODUCTION_POLICY.progress_report_every == Interval(amount=60, unit=WD)
    assert PRODUCTION_POLICY.max_reopenings == 1
    assert PRODUCTION_POLICY.top_step.name is StepName.circulated_notice
    assert PRODUCTION_POLICY.step("urge").offset == 1
    assert PRODUCTION_POLICY.step(StepName.reminder).offset == -10


@pytest.mark.parametrize("p", [PRODUCTION_POLICY, DEMO_POLICY, seconds_policy(0.1)])
def test_policies_round_trip_through_json(p: EscalationPolicy) -> None:
    text = p.model_dump_json()
    json.loads(text)  # plain JSON, fit for a Temporal workflow input
    assert EscalationPolicy.model_validate_json(text) == p


def test_production_json_keeps_whole_numbers() -> None:
    data = json.loads(PRODUCTION_POLICY.model_dump_json())
    assert data["steps"][1] == {"name": "urge", "offset": 1, "unit": "working_days"}
    assert data["clock"] == {"timezone": "Asia/Shanghai", "end_of_day": "17:30:00"}


def test_unknown_step_name_is_refused_clearly() -> None:
    with pytest.raises(ValidationError) as info:
        policy([{"name": "escalate_to_mayor", "offset": 1, "unit": "working_days"}])
    message = str(info.value)
    assert "unknown escalation step 'escalate_to_mayor'" in message
    assert "urge (催办)" in message and "circulated_notice (文件通报)" in message
    with pytest.raises(ValueError, match="unknown escalation step"):
        PRODUCTION_POLICY.step("nope")


def test_steps_must_follow_ladder_order() -> None:
    with pytest.raises(ValidationError, match="ladder order"):
        policy(
            [
                {"name": "committee_supervision", "offset": 5, "unit": "working_days"},
                {"name": "urge", "offset": 10, "unit": "working_days"},
            ]
        )
    with pytest.raises(ValidationError, match="at most once"):
        policy(
            [
                {"name": "urge", "offset": 1, "unit": "working_days"},
                {"name": "urge", "offset": 5, "unit": "working_days"},
            ]
        )


def test_offsets_must_be_strictly_increasing() -> None:
    with pytest.raises(ValidationError, match="strictly increasing"):
        policy(
            [
                {"name": "urge", "offset": 10, "unit": "working_days"},
                {"name": "committee_supervision", "offset": 10, "unit": "working_days"},
            ]
        )


def test_reminder_before_and_escalations_after_the_due_date() -> None:
    with pytest.raises(ValidationError, match="must be negative"):
        EscalationStep(name="reminder", offset=0, unit=WD)
    with pytest.raises(ValidationError, match="after the due date"):
        EscalationStep(name="urge", offset=0, unit=WD)
    with pytest.raises(ValidationError, match="after the due date"):
        EscalationStep(name="circulated_notice", offset=-3, unit=S)


def test_other_policy_mistakes() -> None:
    with pytest.raises(ValidationError, match="same unit"):
        policy(
            [
                {"name": "urge", "offset": 1, "unit": "working_days"},
                {"name": "committee_supervision", "offset": 10, "unit": "seconds"},
            ]
        )
    with pytest.raises(ValidationError, match="at least one escalation step"):
        policy([{"name": "reminder", "offset": -10, "unit": "working_days"}])
    with pytest.raises(ValidationError):
        policy([])
    with pytest.raises(ValidationError, match="whole number"):
        EscalationStep(name="urge", offset=1.5, unit=WD)
    with pytest.raises(ValidationError):
        policy([{"name": "urge", "offset": 1, "unit": "weeks"}])
    with pytest.raises(ValidationError):
        Interval(amount=0, unit=S)
    with pytest.raises(ValidationError):
        policy([{"name": "urge", "offset": 1, "unit": "working_days"}], max_reopenings=-1)
    # A ladder may leave out rungs: levels only have to increase.
    short = policy(
        [
            {"name": "urge", "offset": 1, "unit": "working_days"},
            {"name": "meeting_supervision", "offset": 15, "unit": "working_days"},
        ]
    )
    assert short.top_step.level == 3
    assert short.step("reminder") is None


def test_seconds_policy_is_the_same_ladder_scaled() -> None:
    fast = seconds_policy(0.5)
    assert fast.unit is S
    assert [s.name for s in fast.steps] == [s.name for s in PRODUCTION_POLICY.steps]
    assert [s.offset for s in fast.steps] == [-5, 0.5, 5, 10, 15]
    assert fast.progress_report_every == Interval(amount=30, unit=S)
    assert fast.reopen_handling_period == Interval(amount=10, unit=S)
    assert fast.max_reopenings == PRODUCTION_POLICY.max_reopenings
    assert [s.offset for s in DEMO_POLICY.steps] == [-10, 1, 10, 20, 30]
    assert DEMO_POLICY.name == "demo"
    # Floating-point noise does not leak into the offsets.
    assert [s.offset for s in seconds_policy(0.1).steps] == [-1, 0.1, 1, 2, 3]
    with pytest.raises(ValueError, match="positive"):
        seconds_policy(0)


# --------------------------------------------------------------------------- planning in working days


def test_ladder_in_working_days_across_national_day_2025() -> None:
    plan = plan_ladder(D(2025, 9, 30), PRODUCTION_POLICY, CALENDAR)
    assert [(s.name.value, s.level, s.fire_at) for s in plan] == [
        # 10 working days back from Tue 30 Sep, counting the make-up Sunday 28 Sep.
        ("reminder", 0, at_1730_cst(D(2025, 9, 17))),
        # Due + 1: the first working day after the holiday.
        ("urge", 1, at_1730_cst(D(2025, 10, 9))),
        # +10 counts the make-up Saturday 11 Oct.
        ("committee_supervision", 2, at_1730_cst(D(2025, 10, 21))),
        ("meeting_supervision", 3, at_1730_cst(D(2025, 11, 4))),
        ("circulated_notice", 4, at_1730_cst(D(2025, 11, 18))),
    ]
    assert plan[1].summary == "催办 (level 1) at 2025-10-09 17:30 CST"
    assert plan[1].label_zh == "催办"
    assert not any(s.provisional for s in plan)
    # Each fire day is exactly `offset` working days from the due day.
    for step, planned in zip(PRODUCTION_POLICY.steps, plan):
        fire_day = planned.fire_at.date()
        assert working_days_between(D(2025, 9, 30), fire_day, CALENDAR) == step.offset
        assert CALENDAR.is_workday(fire_day)


def test_due_day_off_moves_to_the_next_working_day_first() -> None:
    # Due on the National Day holiday: due moves to Thu 9 Oct, urge on Fri 10 Oct
    # (not on the 9th, which would give the department no time at all).
    assert due_deadline(D(2025, 10, 3), PRODUCTION_POLICY, CALENDAR).at == at_1730_cst(D(2025, 10, 9))
    plan = plan_ladder(D(2025, 10, 3), PRODUCTION_POLICY, CALENDAR)
    assert plan[1].fire_at == at_1730_cst(D(2025, 10, 10))
    # Reminder 10 working days before 9 Oct: 30, 29, 28 (make-up Sunday), 26 ... 18 Sep.
    assert plan[0].fire_at == at_1730_cst(D(2025, 9, 18))


def test_due_as_datetime_uses_the_day_in_china() -> None:
    # 09:30 UTC on 30 Sep is 17:30 in Shanghai, still 30 Sep.
    same = plan_ladder(dt.datetime(2025, 9, 30, 9, 30, tzinfo=UTC), PRODUCTION_POLICY, CALENDAR)
    assert same == plan_ladder(D(2025, 9, 30), PRODUCTION_POLICY, CALENDAR)
    # 20:00 UTC on 30 Sep is already 04:00 on 1 Oct in Shanghai: a holiday.
    late = plan_ladder(dt.datetime(2025, 9, 30, 20, 0, tzinfo=UTC), PRODUCTION_POLICY, CALENDAR)
    assert late[1].fire_at == at_1730_cst(D(2025, 10, 10))
    with pytest.raises(ValueError, match="naive"):
        plan_ladder(dt.datetime(2025, 9, 30, 9, 30), PRODUCTION_POLICY, CALENDAR)


def test_ladder_into_an_unknown_year_is_provisional_until_loaded() -> None:
    plan = plan_ladder(D(2030, 12, 2), PRODUCTION_POLICY, CALENDAR)
    assert all(s.provisional for s in plan)  # 2030 is unknown to the package too
    schedule_2030 = OfficialSchedule(year=2030, source="test")  # a (made-up) plain year
    calendar = CALENDAR.with_schedule(schedule_2030)
    plan = plan_ladder(D(2030, 12, 2), PRODUCTION_POLICY, calendar)
    early = [s for s in plan if s.fire_at.year == 2030]
    late = [s for s in plan if s.fire_at.year == 2031]
    assert early and late
    assert not any(s.provisional for s in early)
    assert all(s.provisional and s.provisional_years == (2031,) for s in late)
    assert "provisional" in late[-1].summary and "2031" in late[-1].summary
    # Loading 2031 (made up: New Year's Day off) clears the flag and moves the notice.
    calendar = calendar.with_schedule(
        OfficialSchedule(year=2031, holidays=[ScheduledHoliday(date=D(2031, 1, 1), name="元旦")])
    )
    final = plan_ladder(D(2030, 12, 2), PRODUCTION_POLICY, calendar)
    assert not any(s.provisional for s in final)
    assert final[-1].fire_at == late[-1].fire_at + dt.timedelta(days=1)


def test_custom_end_of_day() -> None:
    p = PRODUCTION_POLICY.model_copy(update={"clock": WorkingDayClock(end_of_day=dt.time(18, 0))})
    plan = plan_ladder(D(2025, 9, 30), p, CALENDAR)
    assert plan[1].fire_at == dt.datetime(2025, 10, 9, 10, 0, tzinfo=UTC)
    assert plan[1].summary == "催办 (level 1) at 2025-10-09 18:00 CST"


# --------------------------------------------------------------------------- planning in seconds


def test_ladder_in_seconds() -> None:
    due = dt.datetime(2026, 10, 9, 9, 30, tzinfo=UTC)
    plan = plan_ladder(due, DEMO_POLICY, CALENDAR)
    assert [(s.name.value, s.level, (s.fire_at - due).total_seconds()) for s in plan] == [
        ("reminder", 0, -10),
        ("urge", 1, 1),
        ("committee_supervision", 2, 10),
        ("meeting_supervision", 3, 20),
        ("circulated_notice", 4, 30),
    ]
    assert plan[1].summary == "催办 (level 1) at 2026-10-09 17:30:01 CST"
    assert not any(s.provisional for s in plan)
    # Seconds ignore the calendar: a due date on a holiday stays where it is.
    holiday_due = dt.datetime(2025, 10, 1, 2, 0, tzinfo=UTC)
    assert plan_ladder(holiday_due, DEMO_POLICY, CALENDAR)[1].fire_at == holiday_due + dt.timedelta(seconds=1)
    with pytest.raises(TypeError, match="aware datetime"):
        plan_ladder(D(2026, 10, 9), DEMO_POLICY, CALENDAR)


def test_sub_second_ladder_for_wall_clock_tests() -> None:
    due = dt.datetime(2026, 10, 9, 9, 30, tzinfo=UTC)
    plan = plan_ladder(due, seconds_policy(0.1), CALENDAR)
    assert plan[1].fire_at == due + dt.timedelta(milliseconds=100)
    assert plan[1].summary == "催办 (level 1) at 2026-10-09 17:30:00.100 CST"
    assert plan[-1].fire_at == due + dt.timedelta(seconds=3)


def test_steps_due_and_reached_level() -> None:
    due = dt.datetime(2026, 10, 9, 9, 30, tzinfo=UTC)
    plan = plan_ladder(due, DEMO_POLICY, CALENDAR)
    assert reached_level(plan, due - dt.timedelta(seconds=11)) is None
    assert reached_level(plan, due) == 0
    assert [s.name.value for s in steps_due(plan, due + dt.timedelta(seconds=10))] == [
        "reminder",
        "urge",
        "committee_supervision",
    ]
    assert reached_level(plan, due + dt.timedelta(days=1)) == 4
    assert [s.name.value for s in steps_pending(plan, due + dt.timedelta(seconds=10))] == [
        "meeting_supervision",
        "circulated_notice",
    ]


# --------------------------------------------------------------------------- progress reports, reopenings


def test_next_progress_report_due_in_working_days() -> None:
    # A report on Tue 30 Sep 2025 (evening in Shanghai): next one 60 working days later.
    last = dt.datetime(2025, 9, 30, 12, 0, tzinfo=UTC)
    nxt = next_progress_report_due(last, PRODUCTION_POLICY, CALENDAR)
    day = nxt.at.date()
    assert working_days_between(D(2025, 9, 30), day, CALENDAR) == 60
    assert CALENDAR.is_workday(day)
    assert nxt.at.time() == dt.time(9, 30)
    assert not nxt.provisional
    assert nxt.summary.startswith("进展报告 due at ")


def test_next_progress_report_due_in_seconds() -> None:
    last = dt.datetime(2026, 10, 9, 9, 30, tzinfo=UTC)
    nxt = next_progress_report_due(last, seconds_policy(0.5), CALENDAR)
    assert nxt.at == last + dt.timedelta(seconds=30)
    with pytest.raises(ValueError, match="naive"):
        next_progress_report_due(dt.datetime(2026, 10, 9), DEMO_POLICY, CALENDAR)


def test_unsatisfied_reopens_then_jumps_to_the_top_step() -> None:
    rated = dt.datetime(2025, 9, 30, 2, 0, tzinfo=UTC)
    first = decide_after_unsatisfied(0, rated, PRODUCTION_POLICY, CALENDAR)
    assert first.action == "reopen"
    assert first.reopening_number == 1
    assert first.new_due is not None
    assert working_days_between(D(2025, 9, 30), first.new_due.at.date(), CALENDAR) == 20
    second = decide_after_unsatisfied(1, rated, PRODUCTION_POLICY, CALENDAR)
    assert second.action == "escalate_to_top"
    assert second.top_step is StepName.circulated_notice and second.top_level == 4
    assert "文件通报" in second.summary
    strict = PRODUCTION_POLICY.model_copy(update={"max_reopenings": 0})
    assert decide_after_unsatisfied(0, rated, strict, CALENDAR).action == "escalate_to_top"
    demo = decide_after_unsatisfied(0, rated, DEMO_POLICY, CALENDAR)
    assert demo.new_due is not None and demo.new_due.at == rated + dt.timedelta(seconds=20)
    with pytest.raises(ValueError):
        decide_after_unsatisfied(-1, rated, PRODUCTION_POLICY, CALENDAR)
