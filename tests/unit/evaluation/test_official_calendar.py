"""Working days of the official calendar on fixed dates.

Facts about 2025 checked against chinese_calendar 1.11.0 (and the State Council notice
国办发明电〔2024〕12号): National Day + Mid-autumn off 2025-10-01..08, make-up workdays
Sunday 2025-09-28 and Saturday 2025-10-11; Spring Festival off 2025-01-28..02-04, make-up
workdays Sunday 2025-01-26 and Saturday 2025-02-08.
"""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import pytest
from pydantic import ValidationError

from services.common.deadlines.working_days import (
    DEFAULT_CLOCK,
    CalendarSource,
    MakeUpWorkday,
    OfficialCalendar,
    OfficialSchedule,
    ScheduledHoliday,
    WorkingDayClock,
    add_working_days,
    load_schedules,
    roll_to_working_day,
    working_day_deadline,
    working_days_between,
)

D = dt.date
UTC = dt.timezone.utc
CALENDAR = OfficialCalendar()

# The last year the installed package knows; computed so the boundary tests keep
# testing the boundary after a package upgrade.
LAST_PACKAGE_YEAR = max(chinese_calendar.holidays).year
FIRST_UNKNOWN_YEAR = LAST_PACKAGE_YEAR + 1
# Far enough ahead that no package release will know it for years.
UNKNOWN_YEAR = 2031


def schedule_2031() -> OfficialSchedule:
    """A made-up 2031 schedule for tests (NOT an official one): National Day off
    Wed 1 - Tue 7 Oct, make-up workdays Sun 28 Sep and Sat 11 Oct."""
    return OfficialSchedule(
        year=2031,
        holidays=[ScheduledHoliday(date=D(2031, 10, d), name="国庆节") for d in range(1, 8)],
        make_up_workdays=[
            MakeUpWorkday(date=D(2031, 9, 28), name="国庆节"),
            MakeUpWorkday(date=D(2031, 10, 11), name="国庆节"),
        ],
        source="test fixture, not an official notice",
    )


# --------------------------------------------------------------------------- package years


def test_package_knows_2025_and_raises_for_unknown_years() -> None:
    assert CALENDAR.source_for_year(2025) is CalendarSource.chinese_calendar
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(FIRST_UNKNOWN_YEAR, 1, 4))


def test_national_day_2025_one_working_day_after_sept_30_is_oct_9() -> None:
    result = add_working_days(D(2025, 9, 30), 1, CALENDAR)
    assert result.date == D(2025, 10, 9)
    assert not result.provisional
    assert result.provisional_years == ()


@pytest.mark.parametrize("day", [D(2025, 10, d) for d in range(1, 9)])
def test_national_day_2025_holidays_are_off(day: dt.date) -> None:
    assert not CALENDAR.is_workday(day)


@pytest.mark.parametrize(
    ("day", "weekday"),
    [
        (D(2025, 9, 28), "Sunday"),
        (D(2025, 10, 11), "Saturday"),
        (D(2025, 1, 26), "Sunday"),
        (D(2025, 2, 8), "Saturday"),
    ],
)
def test_make_up_weekend_days_of_2025_are_working_days(day: dt.date, weekday: str) -> None:
    assert day.strftime("%A") == weekday
    status = CALENDAR.day_status(day)
    assert status.is_workday
    assert status.source is CalendarSource.chinese_calendar
    assert not status.provisional


def test_make_up_saturday_counts_in_arithmetic() -> None:
    # Friday 10 Oct 2025 + 1 working day is the make-up Saturday, not Monday.
    assert add_working_days(D(2025, 10, 10), 1, CALENDAR).date == D(2025, 10, 11)
    # Around Spring Festival: Friday 24 Jan + 1 is make-up Sunday 26 Jan;
    # Friday 7 Feb + 1 is make-up Saturday 8 Feb.
    assert add_working_days(D(2025, 1, 24), 1, CALENDAR).date == D(2025, 1, 26)
    assert add_working_days(D(2025, 2, 7), 1, CALENDAR).date == D(2025, 2, 8)
    # Monday 27 Jan + 1 jumps over the whole Spring Festival to Wednesday 5 Feb.
    assert add_working_days(D(2025, 1, 27), 1, CALENDAR).date == D(2025, 2, 5)


def test_ordinary_saturday_is_not_a_working_day() -> None:
    assert not CALENDAR.is_workday(D(2025, 10, 18))
    assert CALENDAR.day_status(D(2025, 10, 18)).name is None


def test_holiday_names_are_chinese() -> None:
    assert CALENDAR.day_status(D(2025, 10, 1)).name == "国庆节"
    assert CALENDAR.day_status(D(2025, 10, 6)).name == "中秋"
    assert CALENDAR.day_status(D(2025, 2, 8)).name == "春节"


# --------------------------------------------------------------------------- counting rule


def test_start_day_is_excluded() -> None:
    # Tuesday 14 Oct 2025 + 1 is Wednesday 15 Oct, not the 14th itself.
    assert add_working_days(D(2025, 10, 14), 1, CALENDAR).date == D(2025, 10, 15)
    # Starting on a holiday: the first working day after it is day 1.
    assert add_working_days(D(2025, 10, 3), 1, CALENDAR).date == D(2025, 10, 9)


def test_zero_rolls_a_day_off_forward() -> None:
    assert add_working_days(D(2025, 10, 14), 0, CALENDAR).date == D(2025, 10, 14)
    assert add_working_days(D(2025, 10, 3), 0, CALENDAR).date == D(2025, 10, 9)
    assert roll_to_working_day(D(2025, 10, 12), CALENDAR).date == D(2025, 10, 13)


def test_negative_counts_back_over_the_holiday() -> None:
    # One working day before Thursday 9 Oct 2025 is Tuesday 30 Sep.
    assert add_working_days(D(2025, 10, 9), -1, CALENDAR).date == D(2025, 9, 30)
    # Three before: 30 Sep, 29 Sep, make-up Sunday 28 Sep.
    assert add_working_days(D(2025, 10, 9), -3, CALENDAR).date == D(2025, 9, 28)
    # Before a day off, start excluded: one working day before Sat 4 Oct is 30 Sep.
    assert add_working_days(D(2025, 10, 4), -1, CALENDAR).date == D(2025, 9, 30)


def test_working_days_between() -> None:
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 9), CALENDAR) == 1
    assert working_days_between(D(2025, 10, 9), D(2025, 9, 30), CALENDAR) == -1
    assert working_days_between(D(2025, 10, 9), D(2025, 10, 9), CALENDAR) == 0
    # Mon 13 Oct .. Mon 20 Oct 2025: 14, 15, 16, 17, 20.
    assert working_days_between(D(2025, 10, 13), D(2025, 10, 20), CALENDAR) == 5
    # Fri 10 -> Mon 13 Oct 2025 includes the make-up Saturday.
    assert working_days_between(D(2025, 10, 10), D(2025, 10, 13), CALENDAR) == 2


def test_datetimes_and_bad_counts_are_refused() -> None:
    with pytest.raises(TypeError, match="local_date"):
        CALENDAR.is_workday(dt.datetime(2025, 10, 9, 1, 0, tzinfo=UTC))
    with pytest.raises(TypeError):
        add_working_days(dt.datetime(2025, 10, 9), 1, CALENDAR)
    with pytest.raises(TypeError):
        add_working_days(D(2025, 10, 9), 1.0, CALENDAR)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_working_days(D(2025, 10, 9), True, CALENDAR)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- unknown years


def test_unknown_year_falls_back_to_monday_friday_and_is_provisional() -> None:
    assert CALENDAR.source_for_year(UNKNOWN_YEAR) is CalendarSource.weekday_fallback
    # Tue 30 Sep 2031 + 1 is Wed 1 Oct: the fallback knows no National Day.
    result = add_working_days(D(2031, 9, 30), 1, CALENDAR)
    assert result.date == D(2031, 10, 1)
    assert result.provisional
    assert result.provisional_years == (2031,)
    status = CALENDAR.day_status(D(2031, 10, 1))
    assert status.is_workday and status.provisional
    assert status.source is CalendarSource.weekday_fallback
    assert not CALENDAR.is_workday(D(2031, 10, 4))  # a Saturday


def test_loading_a_schedule_changes_the_result_and_clears_provisional() -> None:
    calendar = CALENDAR.with_schedule(schedule_2031())
    assert calendar.source_for_year(2031) is CalendarSource.official_schedule
    result = add_working_days(D(2031, 9, 30), 1, calendar)
    assert result.date == D(2031, 10, 8)
    assert not result.provisional
    assert result.provisional_years == ()
    # The make-up Saturday counts.
    assert add_working_days(D(2031, 10, 10), 1, calendar).date == D(2031, 10, 11)
    assert calendar.day_status(D(2031, 10, 11)).name == "国庆节"
    # The original calendar is unchanged (calendars are immutable).
    assert add_working_days(D(2031, 9, 30), 1, CALENDAR).provisional


def test_span_from_known_year_into_unknown_year() -> None:
    # From 30 Dec of the last known year into the first unknown one.
    start = D(LAST_PACKAGE_YEAR, 12, 30)
    result = add_working_days(start, 5, CALENDAR)
    assert result.date.year == FIRST_UNKNOWN_YEAR
    assert result.provisional
    assert result.provisional_years == (FIRST_UNKNOWN_YEAR,)
    # Counting back from the unknown year into the known one is provisional too:
    # the days walked in the unknown year were guessed.
    back = add_working_days(D(FIRST_UNKNOWN_YEAR, 1, 8), -10, CALENDAR)
    assert back.date.year == LAST_PACKAGE_YEAR
    assert back.provisional_years == (FIRST_UNKNOWN_YEAR,)
    # A span that stays inside the known year is not.
    inside = add_working_days(D(LAST_PACKAGE_YEAR, 12, 1), 5, CALENDAR)
    assert inside.date.year == LAST_PACKAGE_YEAR and not inside.provisional
    assert CALENDAR.provisional_years_between(start, result.date) == (FIRST_UNKNOWN_YEAR,)


def test_span_2026_into_2027_with_this_package() -> None:
    # chinese_calendar 1.11.0 knows 2004-2026; a newer package may know 2027.
    if LAST_PACKAGE_YEAR != 2026:
        pytest.skip("installed chinese_calendar knows other years")
    # Thu 31 Dec 2026 + 1: the fallback takes Fri 1 Jan 2027 as a working day.
    result = add_working_days(D(2026, 12, 31), 1, CALENDAR)
    assert result.date == D(2027, 1, 1)
    assert result.provisional_years == (2027,)
    # Staff load the official 2027 schedule (here: a made-up New Year's Day) ...
    schedule = OfficialSchedule(
        year=2027, holidays=[ScheduledHoliday(date=D(2027, 1, 1), name="元旦")], source="test"
    )
    loaded = add_working_days(D(2026, 12, 31), 1, CALENDAR.with_schedule(schedule))
    assert loaded.date == D(2027, 1, 4)
    assert not loaded.provisional


def test_schedule_takes_precedence_over_the_package() -> None:
    # Staff correct 2025: say 13 Oct 2025 were declared a day off.
    package_2025 = OfficialSchedule.from_package(2025)
    corrected = package_2025.model_copy(
        update={
            "holidays": package_2025.holidays
            + (ScheduledHoliday(date=D(2025, 10, 13), name="test: extra day off"),)
        }
    )
    corrected = OfficialSchedule.model_validate(corrected.model_dump())
    calendar = CALENDAR.with_schedule(corrected)
    assert calendar.source_for_year(2025) is CalendarSource.official_schedule
    assert add_working_days(D(2025, 10, 11), 1, CALENDAR).date == D(2025, 10, 13)
    assert add_working_days(D(2025, 10, 11), 1, calendar).date == D(2025, 10, 14)


def test_package_export_matches_the_package_for_every_year_it_knows() -> None:
    first_year = min(chinese_calendar.holidays).year
    for year in range(first_year, LAST_PACKAGE_YEAR + 1):
        schedule = OfficialSchedule.from_package(year)  # also validates the package data
        calendar = OfficialCalendar([schedule], use_package=False)
        day = D(year, 1, 1)
        while day.year == year:
            expected = chinese_calendar.is_workday(day)
            assert calendar.is_workday(day) == expected, day
            assert schedule.is_workday(day) == expected, day
            day += dt.timedelta(days=1)
    with pytest.raises(ValueError, match="no data"):
        OfficialSchedule.from_package(UNKNOWN_YEAR)


def test_without_the_package_every_unloaded_year_is_provisional() -> None:
    calendar = OfficialCalendar(use_package=False)
    assert calendar.is_provisional_year(2025)
    assert add_working_days(D(2025, 9, 30), 1, calendar).date == D(2025, 10, 1)


# --------------------------------------------------------------------------- schedules as data


def test_schedule_json_round_trip() -> None:
    schedule = schedule_2031()
    text = schedule.model_dump_json()
    assert OfficialSchedule.model_validate_json(text) == schedule
    data = json.loads(text)
    assert data["year"] == 2031
    assert data["holidays"][0] == {"date": "2031-10-01", "name": "国庆节"}
    assert data["make_up_workdays"][1] == {"date": "2031-10-11", "name": "国庆节"}


def test_schedule_refuses_dates_of_another_year() -> None:
    with pytest.raises(ValidationError, match="2030-12-31 is not in 2031"):
        OfficialSchedule(
            year=2031, holidays=[ScheduledHoliday(date=D(2030, 12, 31), name="元旦")]
        )
    with pytest.raises(ValidationError, match="not in 2031"):
        OfficialSchedule(year=2031, make_up_workdays=[MakeUpWorkday(date=D(2032, 1, 3))])


def test_schedule_refuses_a_day_both_holiday_and_make_up_workday() -> None:
    with pytest.raises(ValidationError, match="2031-10-11 is both a holiday and a make-up workday"):
        OfficialSchedule(
            year=2031,
            holidays=[ScheduledHoliday(date=D(2031, 10, 11), name="国庆节")],
            make_up_workdays=[MakeUpWorkday(date=D(2031, 10, 11))],
        )


def test_schedule_refuses_weekday_make_up_and_duplicates() -> None:
    with pytest.raises(ValidationError, match="make-up workdays are Saturdays or Sundays"):
        OfficialSchedule(year=2031, make_up_workdays=[MakeUpWorkday(date=D(2031, 10, 8))])
    with pytest.raises(ValidationError, match="listed more than once"):
        OfficialSchedule(
            year=2031,
            holidays=[
                ScheduledHoliday(date=D(2031, 10, 1), name="国庆节"),
                ScheduledHoliday(date=D(2031, 10, 1), name="国庆节"),
            ],
        )
    with pytest.raises(ValidationError):
        ScheduledHoliday(date=D(2031, 10, 1), name="")


def test_calendar_refuses_two_schedules_for_one_year_but_with_schedule_replaces() -> None:
    with pytest.raises(ValueError, match="more than one"):
        OfficialCalendar([schedule_2031(), schedule_2031()])
    replaced = OfficialCalendar([schedule_2031()]).with_schedule(OfficialSchedule(year=2031))
    assert replaced.is_workday(D(2031, 10, 1))
    assert not replaced.is_provisional_year(2031)


def test_load_schedules_from_a_directory(tmp_path) -> None:
    (tmp_path / "schedule-2031.json").write_text(schedule_2031().model_dump_json(), encoding="utf-8")
    calendar = OfficialCalendar.from_directory(tmp_path)
    assert [s.year for s in calendar.schedules] == [2031]
    assert add_working_days(D(2031, 9, 30), 1, calendar).date == D(2031, 10, 8)
    (tmp_path / "another-2031.json").write_text(schedule_2031().model_dump_json(), encoding="utf-8")
    with pytest.raises(ValueError, match="two official schedules for 2031"):
        load_schedules(tmp_path)
    assert load_schedules(tmp_path / "missing") == []


def test_shipped_schedule_directory_loads() -> None:
    # Whatever official schedules ship in services/common/deadlines/data must be valid.
    OfficialCalendar.from_directory()


# --------------------------------------------------------------------------- deadlines as instants


def test_end_of_working_day_is_1730_shanghai_in_utc() -> None:
    at = DEFAULT_CLOCK.end_of_working_day(D(2025, 10, 9))
    assert at == dt.datetime(2025, 10, 9, 9, 30, tzinfo=UTC)
    assert at.tzinfo is UTC
    assert DEFAULT_CLOCK.format_local(at) == "2025-10-09 17:30 CST"


def test_clock_is_configurable() -> None:
    clock = WorkingDayClock(end_of_day=dt.time(18, 0))
    assert clock.end_of_working_day(D(2025, 10, 9)) == dt.datetime(2025, 10, 9, 10, 0, tzinfo=UTC)
    utc_clock = WorkingDayClock(timezone="UTC", end_of_day=dt.time(23, 59))
    assert utc_clock.end_of_working_day(D(2025, 10, 9)) == dt.datetime(2025, 10, 9, 23, 59, tzinfo=UTC)
    assert WorkingDayClock.model_validate_json(clock.model_dump_json()) == clock
    with pytest.raises(ValidationError, match="unknown time zone"):
        WorkingDayClock(timezone="Mars/Olympus")


def test_local_date_is_the_day_in_china() -> None:
    # 17:00 UTC on 8 Oct is 01:00 on 9 Oct in Shanghai.
    assert DEFAULT_CLOCK.local_date(dt.datetime(2025, 10, 8, 17, 0, tzinfo=UTC)) == D(2025, 10, 9)
    with pytest.raises(ValueError, match="naive"):
        DEFAULT_CLOCK.local_date(dt.datetime(2025, 10, 8, 17, 0))


def test_working_day_deadline() -> None:
    deadline = working_day_deadline(D(2025, 9, 30), 1, CALENDAR)
    assert deadline.at == dt.datetime(2025, 10, 9, 9, 30, tzinfo=UTC)
    assert deadline.day == D(2025, 10, 9)
    assert deadline.summary == "2025-10-09 17:30 CST"
    provisional = working_day_deadline(D(2031, 9, 30), 1, CALENDAR)
    assert provisional.provisional
    assert "provisional" in provisional.summary and "2031" in provisional.summary


# --------------------------------------------------------------------------- snapshots


def test_snapshot_pins_package_years_as_data() -> None:
    calendar = CALENDAR.with_schedule(schedule_2031())
    snapshot = calendar.snapshot(years=[2025, 2026, UNKNOWN_YEAR - 1])
    assert [s.year for s in snapshot.schedules] == [2025, 2026, 2031]
    assert not snapshot.use_package
    restored = OfficialCalendar.from_snapshot(type(snapshot).model_validate_json(snapshot.model_dump_json()))
    assert not restored.uses_package
    assert add_working_days(D(2025, 9, 30), 1, restored).date == D(2025, 10, 9)
    assert add_working_days(D(2031, 9, 30), 1, restored).date == D(2031, 10, 8)
    # Not pinned, not loaded: provisional in the restored calendar.
    assert restored.is_provisional_year(2024)
    assert restored.is_provisional_year(UNKNOWN_YEAR - 1)


def test_default_clock_does_not_need_zoneinfo() -> None:
    # Temporal's workflow sandbox proxies ZoneInfo and datetime then refuses it; the
    # China zone is a fixed UTC+8 (no DST since 1991), so workflow code can plan.
    assert isinstance(DEFAULT_CLOCK.tz, dt.timezone)
    assert DEFAULT_CLOCK.tz.utcoffset(None) == dt.timedelta(hours=8)
    # Other zones still work where the tz database exists.
    tokyo = WorkingDayClock(timezone="Asia/Tokyo")
    assert tokyo.end_of_working_day(D(2025, 10, 9)) == dt.datetime(2025, 10, 9, 8, 30, tzinfo=UTC)
