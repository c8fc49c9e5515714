"""Scorecards computed from the follow-up records and the two-way ratings.

Definitions (docs/follow-up.md), as the practice reads them:
- on time: completed no later than the due date in force (an approved extension moves it);
- late: completed after it, or past it and never completed: the on-time rate is on time
  over every commitment that is completed or overdue (a department that never delivers
  reads 0%, not "no data"; null only when nothing was due yet);
- reopenings: times a 不满意 (unsatisfied) rating sent a commitment back;
- satisfaction with the handling work (对办理工作) and with the outcome (对办理结果) apart;
- average delay: mean days past the due date, over commitments completed late;
- escalations per level: rungs of the ladder that fired (levels 1–4; reminders and
  progress reminders are counted apart);
- satisfaction: every rating given, including the unsatisfied ones that reopened.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime
from statistics import mean
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import vocabulary
from services.common.db import utcnow

from ..commitments.models import Commitment, CommitmentAction, EscalationEvent
from ..ratings.models import ConsultationRating, DepartmentRating

LEVELS = ("1", "2", "3", "4")
RATINGS = vocabulary.RATINGS


class DepartmentScorecard(BaseModel):
    department: str
    plan_year: int | None
    commitments: int
    completed: int
    on_time: int
    on_time_rate: float | None
    average_delay_days: float | None
    average_delay_seconds: int | None  # the same, exact enough for seconds-scale policies
    open_overdue: int
    reminders: int
    progress_reminders: int
    escalations_by_level: dict[str, int]
    satisfaction: dict[str, int]
    supervision_ratings: dict[str, float]  # mean score per supervision means
    supervision_rating_count: int
    late: int = 0  # completed late, or overdue and never completed
    reopenings: int = 0
    satisfaction_handling: dict[str, int] = {}  # 对办理工作
    satisfaction_outcome: dict[str, int] = {}  # 对办理结果 (the same counts as `satisfaction`)


class OrganiserScorecard(BaseModel):
    organiser: str
    plan_year: int
    consultations_rated: int
    topic_precision: float | None
    outcome_quality: float | None
    ratings: int
    commitments: int
    on_time_rate: float | None
    late: int = 0
    reopenings: int = 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _timeliness(commitments: list[Commitment], now: Any) -> tuple[int, int, float | None]:
    """(on time, late, on-time rate): overdue and never completed counts as late."""
    completed = [c for c in commitments if c.completed_at is not None]
    on_time = sum(1 for c in completed if c.completed_at <= c.due_at)
    overdue = sum(1 for c in commitments if c.completed_at is None and c.due_at < now)
    judged = len(completed) + overdue
    return on_time, judged - on_time, (_round(on_time / judged) if judged else None)


async def department_scorecards(
    session: AsyncSession, *, plan_year: int | None, department: str | None, now: Any
) -> list[DepartmentScorecard]:
    query = select(Commitment)
    if plan_year is not None:
        query = query.where(Commitment.plan_year == plan_year)
    if department is not None:
        query = query.where(Commitment.department == department)
    commitments = (await session.scalars(query.order_by(Commitment.id))).all()
    ids = [c.id for c in commitments]
    events = (await session.scalars(select(EscalationEvent).where(EscalationEvent.commitment_id.in_(ids)))).all()
    ratings_given = (
        await session.scalars(
            select(CommitmentAction).where(
                CommitmentAction.commitment_id.in_(ids),
                CommitmentAction.kind == "satisfaction",
                CommitmentAction.outcome == "accepted",
            )
        )
    ).all()
    rating_query = select(DepartmentRating)
    if plan_year is not None:
        rating_query = rating_query.where(DepartmentRating.plan_year == plan_year)
    if department is not None:
        rating_query = rating_query.where(DepartmentRating.department == department)
    supervision = (await session.scalars(rating_query)).all()

    by_department: dict[str, list[Commitment]] = defaultdict(list)
    for c in commitments:
        by_department[c.department].append(c)
    for r in supervision:
        by_department.setdefault(r.department, [])
    department_of = {c.id: c.department for c in commitments}

    cards = []
    for name in sorted(by_department):
        own = by_department[name]
        completed = [c for c in own if c.completed_at is not None]
        on_time = [c for c in completed if c.completed_at <= c.due_at]
        late_days = [(c.completed_at - c.due_at).total_seconds() / 86400 for c in completed if c.completed_at > c.due_at]
        own_events = [e for e in events if department_of[e.commitment_id] == name]
        levels = Counter(str(e.level) for e in own_events if e.step not in ("reminder", "progress_missing"))
        satisfaction = Counter(
            a.payload.get("rating") for a in ratings_given if department_of[a.commitment_id] == name
        )
        handling = Counter(
            a.payload.get("handling_rating") for a in ratings_given if department_of[a.commitment_id] == name
        )
        _, late, rate = _timeliness(own, now)
        means: dict[str, list[int]] = defaultdict(list)
        for r in supervision:
            if r.department == name:
                means[r.means].append(r.score)
        cards.append(
            DepartmentScorecard(
                department=name,
                plan_year=plan_year,
                commitments=len(own),
                completed=len(completed),
                on_time=len(on_time),
                on_time_rate=rate,
                average_delay_days=_round(mean(late_days)) if late_days else None,
                average_delay_seconds=round(mean(late_days) * 86400) if late_days else None,
                open_overdue=sum(1 for c in own if c.completed_at is None and c.due_at < now),
                reminders=sum(1 for e in own_events if e.step == "reminder"),
                progress_reminders=sum(1 for e in own_events if e.step == "progress_missing"),
                escalations_by_level={level: levels.get(level, 0) for level in LEVELS},
                satisfaction={r: satisfaction.get(r, 0) for r in RATINGS},
                supervision_ratings={m: round(mean(s), 3) for m, s in sorted(means.items())},
                supervision_rating_count=sum(len(s) for s in means.values()),
                late=late,
                reopenings=sum(c.reopenings for c in own),
                satisfaction_handling={r: handling.get(r, 0) for r in RATINGS},
                satisfaction_outcome={r: satisfaction.get(r, 0) for r in RATINGS},
            )
        )
    return cards


async def organiser_scorecards(session: AsyncSession, *, plan_year: int | None, now: Any = None) -> list[OrganiserScorecard]:
    query = select(ConsultationRating)
    if plan_year is not None:
        query = query.where(ConsultationRating.plan_year == plan_year)
    ratings = (await session.scalars(query)).all()
    c_query = select(Commitment).where(Commitment.organiser.is_not(None), Commitment.plan_year.is_not(None))
    if plan_year is not None:
        c_query = c_query.where(Commitment.plan_year == plan_year)
    commitments = (await session.scalars(c_query)).all()

    keys = sorted({(r.organiser, r.plan_year) for r in ratings} | {(c.organiser, c.plan_year) for c in commitments})
    cards = []
    for organiser, year in keys:
        own = [r for r in ratings if (r.organiser, r.plan_year) == (organiser, year)]
        precision = [r.score for r in own if r.aspect == "topic_precision"]
        quality = [r.score for r in own if r.aspect == "outcome_quality"]
        theirs = [c for c in commitments if (c.organiser, c.plan_year) == (organiser, year)]
        _, late, rate = _timeliness(theirs, now or utcnow())
        cards.append(
            OrganiserScorecard(
                organiser=organiser,
                plan_year=year,
                consultations_rated=len({r.consultation_topic_id for r in own}),
                topic_precision=_round(mean(precision)) if precision else None,
                outcome_quality=_round(mean(quality)) if quality else None,
                ratings=len(own),
                commitments=len(theirs),
                on_time_rate=rate,
                late=late,
                reopenings=sum(c.reopenings for c in theirs),
            )
        )
    return cards


def as_csv(cards: list[BaseModel]) -> str:
    """Flat CSV: nested counters become columns such as escalations_by_level.2."""
    rows = []
    for card in cards:
        flat: dict[str, Any] = {}
        for key, value in card.model_dump().items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        rows.append(flat)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class YearEndReport(BaseModel):
    """年终考评: every department's and organiser's scorecard for one plan year."""

    plan_year: int
    generated_at: datetime
    departments: list[DepartmentScorecard]
    organisers: list[OrganiserScorecard]


async def year_end_report(session: AsyncSession, *, plan_year: int, now: Any) -> YearEndReport:
    return YearEndReport(
        plan_year=plan_year, generated_at=now,
        departments=await department_scorecards(session, plan_year=plan_year, department=None, now=now),
        organisers=await organiser_scorecards(session, plan_year=plan_year, now=now),
    )


def year_end_csv(report: YearEndReport) -> str:
    """One CSV: a `scope` column (department / organiser) before each card's columns."""
    rows = [_Scoped(scope="department", card=c) for c in report.departments]
    rows += [_Scoped(scope="organiser", card=c) for c in report.organisers]
    return as_csv(rows)


class _Scoped(BaseModel):
    scope: str
    card: Any

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:  # flat: scope first, then the card
        return {"scope": self.scope, **self.card.model_dump(**kwargs)}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def year_end_html(report: YearEndReport) -> str:
    """A printable page (A4 landscape; print from the browser to PDF)."""
    from html import escape

    def counts(d: dict[str, int]) -> str:
        return " / ".join(str(d.get(r, 0)) for r in RATINGS)

    dept_rows = "".join(
        f"<tr><th scope='row'>{escape(c.department)}</th><td>{c.commitments}</td><td>{c.completed}</td>"
        f"<td>{c.on_time}</td><td>{c.late}</td><td>{_percent(c.on_time_rate)}</td><td>{c.open_overdue}</td>"
        f"<td>{c.reopenings}</td><td>{sum(c.escalations_by_level.values())}</td>"
        f"<td>{counts(c.satisfaction_handling)}</td><td>{counts(c.satisfaction_outcome)}</td></tr>"
        for c in report.departments
    ) or "<tr><td colspan='11'>本年度无承诺 (no commitments this year)</td></tr>"
    org_rows = "".join(
        f"<tr><th scope='row'>{escape(o.organiser)}</th><td>{o.consultations_rated}</td>"
        f"<td>{'—' if o.topic_precision is None else o.topic_precision}</td>"
        f"<td>{'—' if o.outcome_quality is None else o.outcome_quality}</td><td>{o.commitments}</td>"
        f"<td>{o.late}</td><td>{_percent(o.on_time_rate)}</td><td>{o.reopenings}</td></tr>"
        for o in report.organisers
    ) or "<tr><td colspan='8'>本年度无评价 (no ratings this year)</td></tr>"
    year = report.plan_year
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{year} 年度协商成果办理考评 · Year-end report {year}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 1.5rem; color: #111; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; font-size: .9rem; }}
th, td {{ border: 1px solid #555; padding: .3rem .5rem; text-align: right; }}
th[scope=row], thead th {{ text-align: left; background: #eee; }}
caption {{ text-align: left; font-weight: bold; margin: .5rem 0; }}
@page {{ size: A4 landscape; margin: 12mm; }}
@media print {{ body {{ margin: 0; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>{year} 年度协商成果办理考评</h1>
<p>Year-end report, plan year {year}; generated {escape(str(report.generated_at))}. 逾期未办结计为未按时
(overdue and never completed counts as late). 满意度按 满意 / 基本满意 / 不满意 计数.</p>
<table><caption>承办单位 · Departments</caption><thead><tr><th scope="col">承办单位</th><th scope="col">承诺</th>
<th scope="col">办结</th><th scope="col">按时</th><th scope="col">未按时</th><th scope="col">按时率</th>
<th scope="col">逾期未办结</th><th scope="col">重新办理</th><th scope="col">督办次数</th>
<th scope="col">对办理工作</th><th scope="col">对办理结果</th></tr></thead><tbody>{dept_rows}</tbody></table>
<table><caption>组织单位 · Organisers</caption><thead><tr><th scope="col">组织单位</th><th scope="col">评价的协商</th>
<th scope="col">选题精准性</th><th scope="col">成果质量</th><th scope="col">承诺</th><th scope="col">未按时</th>
<th scope="col">按时率</th><th scope="col">重新办理</th></tr></thead><tbody>{org_rows}</tbody></table>
</body></html>
"""
