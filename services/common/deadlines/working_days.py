"""Working days of the official Chinese calendar, for commitment deadlines (承诺期限).

Deadlines in CPPCC follow-up count *working days* (工作日) of the official calendar:
statutory holidays (法定节假日) are off, and the make-up workdays (调休上班日, usually a
Saturday or Sunday next to a long holiday) count as working days.  The State Council
publishes each year's schedule late in the previous year, so any software release only
knows a bounded range of years.  This module answers, per date, from (in order of
precedence):

1. an official schedule loaded by CPPCC office staff (``OfficialSchedule``, plain data);
2. the ``chinese_calendar`` package, for the years it ships;
3. a Monday-Friday fallback, whose answers are *provisional*: every result that
   depended on such a year says so, so that the caller can re-plan once the official
   schedule has been loaded.

Everything here is pure and deterministic: no clock is read, no file is read unless
``load_schedules``/``OfficialCalendar.from_directory`` is called explicitly.

Counting rule (see docs/follow-up.md):

* ``add_working_days(start, n)`` with ``n > 0`` is the n-th working day *after* start;
  the start day itself is never counted, whether or not it is a working day.
* ``n < 0`` is the |n|-th working day *before* start, start excluded (reminders
  "k working days before the due date").
* ``n == 0`` is start itself if it is a working day, otherwise the next working day:
  a deadline that falls on a day off moves to the next working day (the rule of the
  Civil Code, art. 203, for periods ending on a statutory holiday).
* The result is always a working day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CalendarSnapshot",
    "CalendarSource",
    "DEFAULT_CLOCK",
    "DEFAULT_SCHEDULE_DIR",
    "DayStatus",
    "Deadline",
    "MakeUpWorkday",
    "OfficialCalendar",
    "OfficialSchedule",
    "ScheduledHoliday",
    "WorkingDayClock",
    "WorkingDayResult",
    "add_working_days",
    "load_schedules",
    "provisional_note",
    "require_aware",
    "roll_to_working_day",
    "working_day_deadline",
    "working_days_between",
]

# Official schedules that ship with the code (one JSON file per year,
# ``schedule-<year>.json``); see data/README.md.
DEFAULT_SCHEDULE_DIR = Path(__file__).parent / "data"

# chinese_calendar names its holidays in English; the CPPCC office reads Chinese.
_HOLIDAY_NAME_ZH: dict[str, str] = {h.value: h.chinese for h in chinese_calendar.Holiday}


class CalendarSource(StrEnum):
    """Where the answer for a year comes from, in order of precedence."""

    official_schedule = "official_schedule"  # loaded by staff: 国务院办公厅 notice
    chinese_calendar = "chinese_calendar"  # the package's built-in data
    weekday_fallback = "weekday_fallback"  # Monday-Friday guess: provisional


# --------------------------------------------------------------------------- schedules


class ScheduledHoliday(BaseModel):
    """One day off in the official schedule (放假日)."""

    model_config = ConfigDict(frozen=True)

    date: dt.date
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="Holiday name as in the State Council notice, e.g. 国庆节"
    )


class MakeUpWorkday(BaseModel):
    """A weekend day that is a working day because of 调休 (调休上班日)."""

    model_config = ConfigDict(frozen=True)

    date: dt.date
    name: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="The holiday it makes up for, e.g. 春节"
    )


class OfficialSchedule(BaseModel):
    """A year's official holiday schedule, as staff enter it from the State Council
    notice (国务院办公厅关于<year>年部分节假日安排的通知).

    Only dates that differ from the Monday-Friday week are listed: holidays that fall
    on weekdays (listing weekend days of a holiday too is harmless) and make-up
    workdays.  Once loaded it takes precedence over the chinese_calendar package and
    over the fallback for every date of that year.
    """

    model_config = ConfigDict(frozen=True)

    year: Annotated[int, Field(ge=1949, le=9999)]
    holidays: tuple[ScheduledHoliday, ...] = ()
    make_up_workdays: tuple[MakeUpWorkday, ...] = ()
    source: str | None = Field(
        default=None,
        description="Where the schedule comes from, e.g. the notice's title and number",
    )

    @model_validator(mode="after")
    def _check_consistent(self) -> OfficialSchedule:
        problems: list[str] = []
        # A date of another year would silently never be consulted (precedence is per
        # year), so refuse it: it belongs in that year's schedule.
        for kind, days in (
            ("holiday", [h.date for h in self.holidays]),
            ("make-up workday", [m.date for m in self.make_up_workdays]),
        ):
            for day in days:
                if day.year != self.year:
                    problems.append(
                        f"{kind} {day.isoformat()} is not in {self.year}; "
                        f"enter it in the {day.year} schedule"
                    )
            duplicates = sorted({d for d in days if days.count(d) > 1})
            for day in duplicates:
                problems.append(f"{kind} {day.isoformat()} is listed more than once")
        both = sorted({h.date for h in self.holidays} & {m.date for m in self.make_up_workdays})
        for day in both:
            problems.append(f"{day.isoformat()} is both a holiday and a make-up workday")
        for m in self.make_up_workdays:
            # 调休 only ever turns a weekend day into a working day; a weekday here is a
            # data-entry mistake (usually the wrong day of the month).
            if m.date.weekday() < 5:
                problems.append(
                    f"make-up workday {m.date.isoformat()} is a "
                    f"{m.date.strftime('%A')}, already a working day; "
                    "make-up workdays are Saturdays or Sundays"
                )
        if problems:
            raise ValueError(f"official schedule for {self.year}: " + "; ".join(problems))
        return self

    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` (which must be in this schedule's year) is a working day."""
        if day.year != self.year:
            raise ValueError(f"{day.isoformat()} is not in the {self.year} schedule")
        if any(m.date == day for m in self.make_up_workdays):
            return True
        return day.weekday() < 5 and all(h.date != day for h in self.holidays)

    def name_of(self, day: dt.date) -> str | None:
        for entry in (*self.holidays, *self.make_up_workdays):
            if entry.date == day:
                return entry.name
        return None

    @classmethod
    def from_package(cls, year: int) -> OfficialSchedule:
        """Export what the chinese_calendar package knows about ``year`` as a schedule.

        Useful to pin a year's calendar as data (e.g. in a workflow input, so replays
        cannot change when the package is upgraded), or as a starting point for staff
        to correct.  Raises ``ValueError`` if the package does not know the year.
        """
        if not _package_knows_year(year):
            raise ValueError(f"the chinese_calendar package has no data for {year}")
        holidays = tuple(
            ScheduledHoliday(date=d, name=_HOLIDAY_NAME_ZH.get(n, n))
            for d, n in sorted(chinese_calendar.holidays.items())
            if d.year == year
        )
        make_up = tuple(
            MakeUpWorkday(date=d, name=_HOLIDAY_NAME_ZH.get(n, n))
            for d, n in sorted(chinese_calendar.workdays.items())
            if d.year == year
        )
        return cls(
            year=year,
            holidays=holidays,
            make_up_workdays=make_up,
            source=f"chinese_calendar {chinese_calendar.__version__}",
        )


def load_schedules(directory: Path | str) -> list[OfficialSchedule]:
    """Read every ``*.json`` official schedule in ``directory`` (sorted by year).

    Two files for the same year are refused rather than one silently winning.
    """
    directory = Path(directory)
    schedules: dict[int, tuple[Path, OfficialSchedule]] = {}
    if not directory.is_dir():
        return []
    for path in sorted(directory.glob("*.json")):
        schedule = OfficialSchedule.model_validate(json.loads(path.read_text(encoding="utf-8")))
        if schedule.year in schedules:
            raise ValueError(
                f"two official schedules for {schedule.year}: "
                f"{schedules[schedule.year][0].name} and {path.name}"
            )
        schedules[schedule.year] = (path, schedule)
    return [s for _, s in sorted(schedules.values(), key=lambda item: item[1].year)]


# --------------------------------------------------------------------------- package


_package_year_cache: dict[int, bool] = {}


def _package_knows_year(year: int) -> bool:
    # Ask the package itself rather than hard-coding its range: it raises
    # NotImplementedError("no available data for year ...") outside the years it ships,
    # and a package upgrade then extends the range without code changes here.
    known = _package_year_cache.get(year)
    if known is None:
        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
            known = True
        except NotImplementedError:
            known = False
        _package_year_cache[year] = known
    return known


def _package_is_workday(day: dt.date) -> bool:
    # Same rule as chinese_calendar.is_workday, read from its public tables directly:
    # the package's own function rescans every key per call to check the year range.
    if day in chinese_calendar.workdays:
        return True
    return day.weekday() < 5 and day not in chinese_calendar.holidays


def _package_name_of(day: dt.date) -> str | None:
    name = chinese_calendar.workdays.get(day) or chinese_calendar.holidays.get(day)
    return None if name is None else _HOLIDAY_NAME_ZH.get(name, name)


# --------------------------------------------------------------------------- calendar


class DayStatus(BaseModel):
    """What the calendar says about one day, and on what authority."""

    model_config = ConfigDict(frozen=True)

    date: dt.date
    is_workday: bool
    source: CalendarSource
    name: str | None = None  # holiday name, or the holiday a make-up workday serves
    provisional: bool


class CalendarSnapshot(BaseModel):
    """An ``OfficialCalendar`` as JSON-serialisable data (see ``OfficialCalendar.snapshot``)."""

    model_config = ConfigDict(frozen=True)

    schedules: tuple[OfficialSchedule, ...] = ()
    use_package: bool = False


class OfficialCalendar:
    """Working days of the official Chinese calendar.

    Immutable: ``with_schedule`` returns a new calendar, so a calendar handed to a
    planning function cannot change under it.
    """

    def __init__(
        self,
        schedules: Iterable[OfficialSchedule] = (),
        *,
        use_package: bool = True,
    ) -> None:
        by_year: dict[int, OfficialSchedule] = {}
        for schedule in schedules:
            if schedule.year in by_year:
                raise ValueError(f"more than one official schedule for {schedule.year}")
            by_year[schedule.year] = schedule
        self._schedules = by_year
        # Lookup tables built once: the arithmetic asks about every day it walks over.
        # (Built here, not cached on the schedule, because model_copy(update=...) would
        # carry a stale cache along.)
        self._days_off = {h.date for s in by_year.values() for h in s.holidays}
        self._make_up = {m.date for s in by_year.values() for m in s.make_up_workdays}
        # use_package=False gives a calendar that depends only on the data passed in,
        # e.g. for workflow code that must replay identically after a package upgrade.
        self._use_package = use_package

    @classmethod
    def from_directory(
        cls, directory: Path | str = DEFAULT_SCHEDULE_DIR, *, use_package: bool = True
    ) -> OfficialCalendar:
        return cls(load_schedules(directory), use_package=use_package)

    def with_schedule(self, schedule: OfficialSchedule) -> OfficialCalendar:
        """A calendar with ``schedule`` loaded, replacing any earlier one for its year
        (staff correct a schedule by loading it again)."""
        schedules = dict(self._schedules)
        schedules[schedule.year] = schedule
        return OfficialCalendar(schedules.values(), use_package=self._use_package)

    def snapshot(self, years: Iterable[int] = ()) -> CalendarSnapshot:
        """This calendar as plain data, for a Temporal workflow input.

        The package's data for ``years`` is pinned as schedules and the snapshot does not
        use the package, so a calendar rebuilt from it answers the same after the package
        is upgraded (workflow replays must not change).  Years neither loaded nor pinned
        fall back to Monday-Friday, provisional, in the rebuilt calendar.
        """
        schedules = dict(self._schedules)
        for year in years:
            if year not in schedules and self.source_for_year(year) is CalendarSource.chinese_calendar:
                schedules[year] = OfficialSchedule.from_package(year)
        return CalendarSnapshot(
            schedules=tuple(schedules[y] for y in sorted(schedules)), use_package=False
        )

    @classmethod
    def from_snapshot(cls, snapshot: CalendarSnapshot) -> OfficialCalendar:
        return cls(snapshot.schedules, use_package=snapshot.use_package)

    @property
    def schedules(self) -> tuple[OfficialSchedule, ...]:
        return tuple(self._schedules[y] for y in sorted(self._schedules))

    @property
    def uses_package(self) -> bool:
        return self._use_package

    def source_for_year(self, year: int) -> CalendarSource:
        if year in self._schedules:
            return CalendarSource.official_schedule
        if self._use_package and _package_knows_year(year):
            return CalendarSource.chinese_calendar
        return CalendarSource.weekday_fallback

    def is_provisional_year(self, year: int) -> bool:
        return self.source_for_year(year) is CalendarSource.weekday_fallback

    def is_workday(self, day: dt.date) -> bool:
        _require_date(day)
        source = self.source_for_year(day.year)
        if source is CalendarSource.official_schedule:
            if day in self._make_up:
                return True
            return day.weekday() < 5 and day not in self._days_off
        if source is CalendarSource.chinese_calendar:
            return _package_is_workday(day)
        return day.weekday() < 5

    def day_status(self, day: dt.date) -> DayStatus:
        _require_date(day)
        source = self.source_for_year(day.year)
        if source is CalendarSource.official_schedule:
            name = self._schedules[day.year].name_of(day)
        elif source is CalendarSource.chinese_calendar:
            name = _package_name_of(day)
        else:
            name = None
        return DayStatus(
            date=day,
            is_workday=self.is_workday(day),
            source=source,
            name=name,
            provisional=source is CalendarSource.weekday_fallback,
        )

    def provisional_years_between(self, a: dt.date, b: dt.date) -> tuple[int, ...]:
        """Years in [min(a, b), max(a, b)] answered by the Monday-Friday fallback."""
        low, high = sorted((a.year, b.year))
        return tuple(y for y in range(low, high + 1) if self.is_provisional_year(y))

    def __repr__(self) -> str:
        years = ", ".join(str(y) for y in sorted(self._schedules)) or "none"
        return f"OfficialCalendar(schedules for: {years}, use_package={self._use_package})"


def _require_date(day: object) -> None:
    # A datetime is a date subclass; accepting one would silently take its own
    # (often UTC) calendar day instead of the day in China.
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(
            f"expected a datetime.date (a day in China), got {type(day).__name__}; "
            "convert instants with WorkingDayClock.local_date()"
        )


# --------------------------------------------------------------------------- arithmetic


class WorkingDayResult(BaseModel):
    """A working day computed from the calendar, with how trustworthy it is."""

    model_config = ConfigDict(frozen=True)

    date: dt.date
    provisional: bool = Field(
        description="True if any day consulted came from the Monday-Friday fallback"
    )
    provisional_years: tuple[int, ...] = ()


def add_working_days(start: dt.date, n: int, calendar: OfficialCalendar) -> WorkingDayResult:
    """The n-th working day after ``start`` (start excluded); see the module docstring.

    ``n < 0`` counts backwards (start excluded), ``n == 0`` rolls a day off forward to
    the next working day.  The result is always a working day.
    """
    _require_date(start)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int number of working days, got {n!r}")
    consulted: set[int] = set()

    def workday(day: dt.date) -> bool:
        consulted.add(day.year)
        return calendar.is_workday(day)

    day = start
    if n == 0:
        while not workday(day):
            day += dt.timedelta(days=1)
    else:
        step = dt.timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if workday(day):
                remaining -= 1
    provisional_years = tuple(sorted(y for y in consulted if calendar.is_provisional_year(y)))
    return WorkingDayResult(
        date=day, provisional=bool(provisional_years), provisional_years=provisional_years
    )


def roll_to_working_day(day: dt.date, calendar: OfficialCalendar) -> WorkingDayResult:
    """``day`` if it is a working day, else the next one (a due date on a day off)."""
    return add_working_days(day, 0, calendar)


def working_days_between(a: dt.date, b: dt.date, calendar: OfficialCalendar) -> int:
    """Signed number of working days from ``a`` to ``b``, ``a`` excluded.

    For b >= a: the working days in (a, b].  For b < a: minus the working days in
    [b, a).  So ``working_days_between(d, add_working_days(d, n).date) == n`` for every
    n != 0, and for n == 0 when d is a working day.  Whether the answer is provisional:
    ``calendar.provisional_years_between(a, b)``.
    """
    _require_date(a)
    _require_date(b)
    if b >= a:
        days = ((a + dt.timedelta(days=i)) for i in range(1, (b - a).days + 1))
        return sum(1 for d in days if calendar.is_workday(d))
    days = ((b + dt.timedelta(days=i)) for i in range((a - b).days))
    return -sum(1 for d in days if calendar.is_workday(d))


# --------------------------------------------------------------------------- clock


# China has had no daylight saving time since 1991, so a fixed UTC+8 named CST is exact
# for every date this system handles.  It is used for the China zones instead of
# ZoneInfo on purpose: Temporal's workflow sandbox hands out a restricted proxy for
# ZoneInfo that datetime refuses ("tzinfo argument must be ... tzinfo subclass"), and
# slim container images may lack the tz database.  Workflow code can therefore call
# plan_ladder directly with the default clock.
_CHINA_FIXED = dt.timezone(dt.timedelta(hours=8), "CST")
_FIXED_ZONES: dict[str, dt.tzinfo] = {
    "Asia/Shanghai": _CHINA_FIXED,
    "Asia/Chongqing": _CHINA_FIXED,
    "PRC": _CHINA_FIXED,
    "UTC": dt.timezone.utc,
    "Etc/UTC": dt.timezone.utc,
}


def _zone(name: str) -> dt.tzinfo:
    fixed = _FIXED_ZONES.get(name)
    if fixed is not None:
        return fixed
    # Other zones (never the default) need the tz database; in Temporal workflow code
    # they only work with zoneinfo passed through the sandbox.
    return ZoneInfo(name)


class WorkingDayClock(BaseModel):
    """Turns working days into instants: a deadline on day D is the end of D's working
    day in the CPPCC office's time zone (default 17:30 Asia/Shanghai)."""

    model_config = ConfigDict(frozen=True)

    timezone: str = "Asia/Shanghai"
    end_of_day: dt.time = dt.time(17, 30)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            _zone(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("end_of_day")
    @classmethod
    def _naive_time(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("end_of_day is a local wall-clock time; give it without a zone")
        return value

    @property
    def tz(self) -> dt.tzinfo:
        return _zone(self.timezone)

    def end_of_working_day(self, day: dt.date) -> dt.datetime:
        """``day`` at end_of_day local time, as an aware UTC datetime."""
        _require_date(day)
        local = dt.datetime.combine(day, self.end_of_day, tzinfo=self.tz)
        return local.astimezone(dt.timezone.utc)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The day in the office's zone at ``moment`` (which must be aware)."""
        require_aware(moment)
        return moment.astimezone(self.tz).date()

    def format_local(self, moment: dt.datetime) -> str:
        """e.g. ``2026-10-09 17:30 CST`` (seconds and milliseconds shown only when not zero)."""
        require_aware(moment)
        local = moment.astimezone(self.tz)
        if local.microsecond:
            text = local.strftime("%Y-%m-%d %H:%M:%S") + f".{local.microsecond // 1000:03d}"
        elif local.second:
            text = local.strftime("%Y-%m-%d %H:%M:%S")
        else:
            text = local.strftime("%Y-%m-%d %H:%M")
        return f"{text} {local.tzname()}"


DEFAULT_CLOCK = WorkingDayClock()


def require_aware(moment: object) -> None:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"expected an aware datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: deadlines need a time zone "
            "(use UTC or Asia/Shanghai)"
        )


class Deadline(BaseModel):
    """A deadline as an instant: the end of a working day."""

    model_config = ConfigDict(frozen=True)

    at: dt.datetime = Field(description="Aware UTC instant")
    day: dt.date = Field(description="The working day in the clock's zone")
    provisional: bool
    provisional_years: tuple[int, ...] = ()
    summary: str


def working_day_deadline(
    start: dt.date,
    n: int,
    calendar: OfficialCalendar,
    clock: WorkingDayClock = DEFAULT_CLOCK,
) -> Deadline:
    """End of the n-th working day after ``start`` (start excluded), as an instant."""
    result = add_working_days(start, n, calendar)
    at = clock.end_of_working_day(result.date)
    summary = clock.format_local(at)
    if result.provisional:
        summary += provisional_note(result.provisional_years)
    return Deadline(
        at=at,
        day=result.date,
        provisional=result.provisional,
        provisional_years=result.provisional_years,
        summary=summary,
    )


def provisional_note(years: Iterable[int]) -> str:
    listed = ", ".join(str(y) for y in years)
    return f" (provisional: no official holiday schedule for {listed})"
