"""The follow-up escalation policy (督办升级), as data.

A commitment (承诺) has a due date.  Before it, the department gets a reminder (提醒);
after it, if the commitment is not completed, the ladder climbs:

    level 1  urge                   催办      the CPPCC office urges the department
    level 2  committee_supervision  督办      the committee supervises formally
    level 3  meeting_supervision    会议督办  put on a supervision meeting's agenda
    level 4  circulated_notice      文件通报  a notice circulated in official documents

The policy is pydantic data so it can travel inside a Temporal workflow input and be
stored with the follow-up: production counts offsets in working days of the official
calendar, tests and demos run the same ladder in seconds.  The planning functions are
pure: they take the due date, the policy and the calendar (and ``now`` where relevant)
and never read a clock.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.deadlines.working_days import (
    DEFAULT_CLOCK,
    OfficialCalendar,
    WorkingDayClock,
    add_working_days,
    provisional_note,
    require_aware,
    roll_to_working_day,
)

__all__ = [
    "DEMO_POLICY",
    "EscalationPolicy",
    "EscalationStep",
    "Interval",
    "OffsetUnit",
    "PRODUCTION_POLICY",
    "PlannedStep",
    "PlannedTime",
    "STEP_LABELS_ZH",
    "STEP_LEVELS",
    "StepName",
    "UnsatisfiedDecision",
    "decide_after_unsatisfied",
    "due_deadline",
    "next_progress_report_due",
    "plan_ladder",
    "reached_level",
    "seconds_policy",
    "steps_due",
    "steps_pending",
]


class StepName(StrEnum):
    """The steps of the follow-up ladder, in ladder order."""

    reminder = "reminder"
    urge = "urge"
    committee_supervision = "committee_supervision"
    meeting_supervision = "meeting_supervision"
    circulated_notice = "circulated_notice"


# The level is fixed by the step, not configurable: "escalation level >= 2" must mean
# the same thing in every follow-up, because operators query it as a search attribute.
STEP_LEVELS: dict[StepName, int] = {
    StepName.reminder: 0,
    StepName.urge: 1,
    StepName.committee_supervision: 2,
    StepName.meeting_supervision: 3,
    StepName.circulated_notice: 4,
}

STEP_LABELS_ZH: dict[StepName, str] = {
    StepName.reminder: "到期提醒",
    StepName.urge: "催办",
    StepName.committee_supervision: "督办",
    StepName.meeting_supervision: "会议督办",
    StepName.circulated_notice: "文件通报",
}


class OffsetUnit(StrEnum):
    working_days = "working_days"  # official calendar, deadlines at end of working day
    seconds = "seconds"  # wall-clock seconds, for demos and tests


def _check_amount(value: int | float, unit: OffsetUnit, what: str) -> int | float:
    # Working days are whole days; a fractional one has no place in the calendar.
    if unit is OffsetUnit.working_days:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{what} in working days must be a whole number, got {value}")
            return int(value)
    return value


def _parse_step_name(value: Any) -> Any:
    if isinstance(value, str) and value not in StepName.__members__:
        known = ", ".join(f"{s.value} ({STEP_LABELS_ZH[s]})" for s in StepName)
        raise ValueError(f"unknown escalation step {value!r}; known steps: {known}")
    return value


class Interval(BaseModel):
    """A positive span, in working days or in seconds."""

    model_config = ConfigDict(frozen=True)

    amount: int | float = Field(gt=0)
    unit: OffsetUnit

    @model_validator(mode="after")
    def _whole_working_days(self) -> Interval:
        object.__setattr__(self, "amount", _check_amount(self.amount, self.unit, "an interval"))
        return self


class EscalationStep(BaseModel):
    """One rung: fire ``offset`` units after the due date (negative: before it)."""

    model_config = ConfigDict(frozen=True)

    name: StepName
    offset: int | float
    unit: OffsetUnit

    @field_validator("name", mode="before")
    @classmethod
    def _known_name(cls, value: Any) -> Any:
        return _parse_step_name(value)

    @model_validator(mode="after")
    def _check(self) -> EscalationStep:
        object.__setattr__(self, "offset", _check_amount(self.offset, self.unit, f"{self.name.value} offset"))
        if self.name is StepName.reminder and self.offset >= 0:
            raise ValueError(
                f"the reminder comes before the due date: its offset must be negative, got {self.offset}"
            )
        if self.name is not StepName.reminder and self.offset <= 0:
            raise ValueError(
                f"{self.name.value} ({STEP_LABELS_ZH[self.name]}) escalates an overdue "
                f"commitment: its offset must be after the due date (> 0), got {self.offset}"
            )
        return self

    @property
    def level(self) -> int:
        return STEP_LEVELS[self.name]

    @property
    def label_zh(self) -> str:
        return STEP_LABELS_ZH[self.name]


class EscalationPolicy(BaseModel):
    """The whole follow-up policy: ladder, progress-report cadence, reopenings."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, description="e.g. production, demo")
    steps: tuple[EscalationStep, ...] = Field(min_length=1)
    progress_report_every: Interval = Field(
        description="How often the department reports progress (进展报告) on its commitment"
    )
    reopen_handling_period: Interval = Field(
        description="Time given to handle again after an unsatisfied (不满意) rating"
    )
    max_reopenings: Annotated[int, Field(ge=0)] = Field(
        description="Reopenings allowed after 不满意; the next 不满意 goes to the top step"
    )
    clock: WorkingDayClock = DEFAULT_CLOCK

    @model_validator(mode="after")
    def _check_ladder(self) -> EscalationPolicy:
        units = {s.unit for s in self.steps}
        if len(units) > 1:
            raise ValueError(
                "all steps of a ladder must use the same unit (working_days or seconds), "
                f"got {sorted(u.value for u in units)}"
            )
        for before, after in zip(self.steps, self.steps[1:]):
            if after.level <= before.level:
                raise ValueError(
                    "steps must follow the ladder order "
                    + " → ".join(s.value for s in StepName)
                    + f", each at most once; got {after.name.value} (level {after.level}) "
                    f"after {before.name.value} (level {before.level})"
                )
            if after.offset <= before.offset:
                raise ValueError(
                    "step offsets must be strictly increasing; "
                    f"{after.name.value} at {after.offset} is not after "
                    f"{before.name.value} at {before.offset}"
                )
        if all(s.name is StepName.reminder for s in self.steps):
            raise ValueError("a policy needs at least one escalation step after the reminder")
        return self

    @property
    def unit(self) -> OffsetUnit:
        return self.steps[0].unit

    @property
    def top_step(self) -> EscalationStep:
        return self.steps[-1]

    def step(self, name: StepName | str) -> EscalationStep | None:
        name = StepName(_parse_step_name(name))
        return next((s for s in self.steps if s.name is name), None)


# --------------------------------------------------------------------------- policies

# Production defaults, in working days of the official calendar (justified in
# docs/follow-up.md): departments reply within three months (about 60 working days),
# so the reminder comes two working weeks before the due date, early enough to act on;
# past the due date the ladder climbs every two working weeks, reaching the circulated
# notice six working weeks late.  Three months plus six weeks stays inside the six
# months allowed for complex cases: a department that needs longer asks for an
# extension (which moves the due date and re-plans the ladder) instead of riding it.
PRODUCTION_POLICY = EscalationPolicy(
    name="production",
    steps=(
        EscalationStep(name=StepName.reminder, offset=-10, unit=OffsetUnit.working_days),
        EscalationStep(name=StepName.urge, offset=1, unit=OffsetUnit.working_days),
        EscalationStep(name=StepName.committee_supervision, offset=10, unit=OffsetUnit.working_days),
        EscalationStep(name=StepName.meeting_supervision, offset=20, unit=OffsetUnit.working_days),
        EscalationStep(name=StepName.circulated_notice, offset=30, unit=OffsetUnit.working_days),
    ),
    progress_report_every=Interval(amount=60, unit=OffsetUnit.working_days),
    reopen_handling_period=Interval(amount=20, unit=OffsetUnit.working_days),
    max_reopenings=1,
)


def seconds_policy(
    scale: float = 1.0,
    *,
    base: EscalationPolicy = PRODUCTION_POLICY,
    name: str | None = None,
) -> EscalationPolicy:
    """The same ladder as ``base`` (in working days) with one working day = ``scale``
    seconds, for demos and wall-clock tests (scale=0.1 runs the production ladder's
    40 working days in 4 seconds)."""
    if not scale > 0:
        raise ValueError(f"scale must be a positive number of seconds per working day, got {scale}")

    def convert(amount: int | float, unit: OffsetUnit) -> int | float:
        if unit is OffsetUnit.seconds:
            return amount
        # Rounded to the millisecond (Temporal's timer resolution) so that, e.g.,
        # 30 * 0.1 is 3 and not 3.0000000000000004.
        seconds = round(amount * scale, 3)
        # Keep whole numbers as ints so the JSON reads "offset": 10, not 10.0.
        return int(seconds) if float(seconds).is_integer() else seconds

    def interval(i: Interval) -> Interval:
        return Interval(amount=convert(i.amount, i.unit), unit=OffsetUnit.seconds)

    return EscalationPolicy(
        name=name or f"{base.name}-in-seconds-x{scale:g}",
        steps=tuple(
            EscalationStep(name=s.name, offset=convert(s.offset, s.unit), unit=OffsetUnit.seconds)
            for s in base.steps
        ),
        progress_report_every=interval(base.progress_report_every),
        reopen_handling_period=interval(base.reopen_handling_period),
        max_reopenings=base.max_reopenings,
        clock=base.clock,
    )


DEMO_POLICY = seconds_policy(1.0, name="demo")


# --------------------------------------------------------------------------- planning


class PlannedTime(BaseModel):
    """An instant computed from the policy, with how trustworthy it is."""

    model_config = ConfigDict(frozen=True)

    at: dt.datetime = Field(description="Aware UTC instant")
    provisional: bool = False
    provisional_years: tuple[int, ...] = ()
    summary: str


class PlannedStep(BaseModel):
    """One planned rung of the ladder for one commitment."""

    model_config = ConfigDict(frozen=True)

    name: StepName
    level: int
    label_zh: str
    fire_at: dt.datetime = Field(description="Aware UTC instant at which the step fires")
    provisional: bool = False
    provisional_years: tuple[int, ...] = ()
    summary: str = Field(description='e.g. "催办 (level 1) at 2026-10-09 17:30 CST"')


def _due_day(due: dt.datetime | dt.date, clock: WorkingDayClock) -> dt.date:
    if isinstance(due, dt.datetime):
        return clock.local_date(due)
    return due


def due_deadline(
    due: dt.datetime | dt.date, policy: EscalationPolicy, calendar: OfficialCalendar
) -> PlannedTime:
    """The instant the commitment is due, as the ladder counts from it.

    Working days: the due *day* (in the clock's zone) rolled forward to a working day
    if it is a day off, at the end of that working day.  Seconds: ``due`` itself.
    """
    clock = policy.clock
    if policy.unit is OffsetUnit.seconds:
        if not isinstance(due, dt.datetime):
            raise TypeError("a ladder in seconds needs the due date as an aware datetime")
        require_aware(due)
        at = due.astimezone(dt.timezone.utc)
        return PlannedTime(at=at, summary=f"due at {clock.format_local(at)}")
    rolled = roll_to_working_day(_due_day(due, clock), calendar)
    at = clock.end_of_working_day(rolled.date)
    summary = f"due at {clock.format_local(at)}"
    if rolled.provisional:
        summary += provisional_note(rolled.provisional_years)
    return PlannedTime(
        at=at, provisional=rolled.provisional, provisional_years=rolled.provisional_years, summary=summary
    )


def plan_ladder(
    due: dt.datetime | dt.date, policy: EscalationPolicy, calendar: OfficialCalendar
) -> list[PlannedStep]:
    """When each step of the ladder fires for a commitment due at ``due``.

    Working days: a due day that is a day off first moves to the next working day
    (otherwise "urge at due + 1" would fire on that same next working day); each step
    then fires at the end of the working day ``offset`` working days from it.  Seconds:
    ``due + offset`` seconds.  Steps are returned in ladder order; their ``fire_at``
    is strictly increasing.
    """
    clock = policy.clock
    planned: list[PlannedStep] = []
    if policy.unit is OffsetUnit.seconds:
        base = due_deadline(due, policy, calendar).at
        for step in policy.steps:
            fire_at = base + dt.timedelta(seconds=step.offset)
            planned.append(_planned(step, fire_at, (), clock))
        return planned

    due_day = roll_to_working_day(_due_day(due, clock), calendar)
    for step in policy.steps:
        result = add_working_days(due_day.date, int(step.offset), calendar)
        years = tuple(sorted(set(due_day.provisional_years) | set(result.provisional_years)))
        planned.append(_planned(step, clock.end_of_working_day(result.date), years, clock))
    return planned


def _planned(
    step: EscalationStep, fire_at: dt.datetime, provisional_years: tuple[int, ...], clock: WorkingDayClock
) -> PlannedStep:
    fire_at = fire_at.astimezone(dt.timezone.utc)
    summary = f"{step.label_zh} (level {step.level}) at {clock.format_local(fire_at)}"
    if provisional_years:
        summary += provisional_note(provisional_years)
    return PlannedStep(
        name=step.name,
        level=step.level,
        label_zh=step.label_zh,
        fire_at=fire_at,
        provisional=bool(provisional_years),
        provisional_years=provisional_years,
        summary=summary,
    )


def steps_due(plan: list[PlannedStep], now: dt.datetime) -> list[PlannedStep]:
    """The planned steps whose time has come at ``now`` (fire_at <= now)."""
    require_aware(now)
    return [s for s in plan if s.fire_at <= now]


def steps_pending(plan: list[PlannedStep], now: dt.datetime) -> list[PlannedStep]:
    """The planned steps still to come at ``now`` (fire_at > now): the timers to set
    after (re)planning, e.g. when an approved extension moves the due date."""
    require_aware(now)
    return [s for s in plan if s.fire_at > now]


def reached_level(plan: list[PlannedStep], now: dt.datetime) -> int | None:
    """The highest escalation level reached at ``now``: None before the first
    escalation step (the reminder, level 0, counts as 0 once sent)."""
    fired = steps_due(plan, now)
    return max((s.level for s in fired), default=None)


def _after_interval(
    start: dt.datetime,
    interval: Interval,
    calendar: OfficialCalendar,
    clock: WorkingDayClock,
    label: str,
) -> PlannedTime:
    require_aware(start)
    if interval.unit is OffsetUnit.seconds:
        at = (start + dt.timedelta(seconds=interval.amount)).astimezone(dt.timezone.utc)
        return PlannedTime(at=at, summary=f"{label} at {clock.format_local(at)}")
    result = add_working_days(clock.local_date(start), int(interval.amount), calendar)
    at = clock.end_of_working_day(result.date)
    summary = f"{label} at {clock.format_local(at)}"
    if result.provisional:
        summary += provisional_note(result.provisional_years)
    return PlannedTime(
        at=at, provisional=result.provisional, provisional_years=result.provisional_years, summary=summary
    )


def next_progress_report_due(
    last_report_at: dt.datetime, policy: EscalationPolicy, calendar: OfficialCalendar
) -> PlannedTime:
    """When the next progress report (进展报告) is due after one made at
    ``last_report_at`` (or after the commitment was made, for the first report).

    Working days count from the report's day in the clock's zone, that day excluded,
    to the end of the working day.
    """
    return _after_interval(
        last_report_at, policy.progress_report_every, calendar, policy.clock, "进展报告 due"
    )


class UnsatisfiedDecision(BaseModel):
    """What happens after an unsatisfied (不满意) rating."""

    model_config = ConfigDict(frozen=True)

    action: Literal["reopen", "escalate_to_top"]
    reopening_number: int | None = Field(
        default=None, description="1 for the first reopening, ... (reopen only)"
    )
    new_due: PlannedTime | None = Field(default=None, description="reopen only")
    top_step: StepName | None = Field(default=None, description="escalate_to_top only")
    top_level: int | None = None
    summary: str


def decide_after_unsatisfied(
    reopenings_so_far: int,
    rated_at: dt.datetime,
    policy: EscalationPolicy,
    calendar: OfficialCalendar,
) -> UnsatisfiedDecision:
    """An unsatisfied rating sends the commitment back for handling again (重新办理)
    with a new due date, up to ``policy.max_reopenings`` times; the next unsatisfied
    rating jumps straight to the top step of the ladder (normally 文件通报)."""
    if reopenings_so_far < 0:
        raise ValueError(f"reopenings_so_far must be >= 0, got {reopenings_so_far}")
    require_aware(rated_at)
    if reopenings_so_far < policy.max_reopenings:
        number = reopenings_so_far + 1
        new_due = _after_interval(
            rated_at, policy.reopen_handling_period, calendar, policy.clock, "重新办理 due"
        )
        return UnsatisfiedDecision(
            action="reopen",
            reopening_number=number,
            new_due=new_due,
            summary=f"不满意: reopening {number} of {policy.max_reopenings}, {new_due.summary}",
        )
    top = policy.top_step
    return UnsatisfiedDecision(
        action="escalate_to_top",
        top_step=top.name,
        top_level=top.level,
        summary=(
            f"不满意 after {reopenings_so_far} reopening(s) (max {policy.max_reopenings}): "
            f"escalate to {top.label_zh} (level {top.level})"
        ),
    )
