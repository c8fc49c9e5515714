"""Draws (抽选): who is eligible, the two phases, idempotency, rounds, voiding.

A draw is idempotent per (consultation, round): the unique constraint on the pair
decides between concurrent identical requests, and the losers answer with the
winner's draw. The same pair with another request is a conflict (409).

Rounds are bounded, so the office cannot draw until it likes the panel: a
consultation's first draw is round 0; every later draw is exactly one round after
the latest, and is either a replacement of the latest draw's declined or silent
members (as many drawn as declined, the rest kept) or, once the latest draw has
been voided with a public reason, a new first draw. Voided draws stay listed, on
the public list too (``GET /public/draws``).

Two phases, each its own transaction:
1. the portfolio (the lottery over valid panels), its hash and the commitment to a
   fresh secret are stored (status ``committed``); nothing about the panel exists yet;
2. the panel is derived from the stored portfolio, the secret and the public
   randomness (status ``drawn``), and the drawn people's last_drawn_at is set.
Phase 2 is a pure function of what phase 1 stored, so whichever request gets there
first completes it (``finish_draw``), and a draw interrupted between the phases is
completed by the next identical request.

The engine sees ids (as strings) and categorical values only; no names, no contacts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import utcnow
from services.common.metrics import DRAW_DURATION
from services.common.pagination import keyset_page
from services.common.problems import PROBLEM_BASE, Problem

from ..people.models import Person
from ..sortition import (
    ALGORITHM_VERSION,
    InfeasibleQuotas,
    InvalidDrawInput,
    Portfolio,
    Quota,
    canonical_json,
    commitment_for,
    draw_panel,
    fraction_str,
    new_secret,
    public_value_problem,
    sha256_hex,
)
from ..sortition import Person as DrawPerson
from ..vocabulary import UNKNOWN
from .models import Draw
from .schemas import (
    DrawCreate,
    DrawPage,
    DrawRead,
    DrawTerms,
    ProbabilityPage,
    ProbabilityRead,
    PublicDraw,
    PublicDrawPage,
    PublishedPortfolio,
    QuotaIn,
    ReplacementCreate,
    RevealCreate,
    VoidCreate,
)

if TYPE_CHECKING:
    from ..sortition import VerificationReport

log = structlog.get_logger()

COUNTY_TZ = ZoneInfo("Asia/Shanghai")  # "unavailable until" is a date on the county's calendar


# ----------------------------------------------------------------- reading
def status_of(draw: Draw) -> str:
    """announced (phase 1 published, no panel yet), drawn, or void."""
    if draw.voided_at is not None:
        return "void"
    return "drawn" if draw.status == "drawn" else "announced"


def to_read(draw: Draw) -> DrawRead:
    return DrawRead(
        id=draw.id,
        consultation_id=draw.consultation_id,
        round=draw.round,
        panel=sorted(draw.panel),
        drawn=sorted(draw.drawn),
        replaces_draw_id=draw.replaces_draw_id,
        portfolio_hash=draw.portfolio_hash,
        commitment=draw.commitment,
        min_probability=draw.min_probability,
        algorithm_version=draw.algorithm_version,
        created_at=draw.created_at,
        status=status_of(draw),
        public_randomness_source=draw.public_randomness_source,
        public_randomness_at=draw.public_randomness_at,
        void_reason=draw.void_reason,
    )


def to_public(draw: Draw) -> PublicDraw:
    """What anyone may see: fingerprints and the announcement, no person ids."""
    replaced = len(draw.request.get("declined", [])) if draw.replaces_draw_id is not None else 0
    return PublicDraw(
        draw_id=draw.id, consultation_id=draw.consultation_id, round=draw.round,
        replaces_draw_id=draw.replaces_draw_id, status=status_of(draw), announced_at=draw.created_at,
        portfolio_hash=draw.portfolio_hash, commitment=draw.commitment,
        public_randomness_source=draw.public_randomness_source, public_randomness_at=draw.public_randomness_at,
        public_randomness_format=draw.public_randomness_format, public_randomness=draw.public_randomness,
        seats=int(draw.portfolio["panel_size"]), replaced_seats=replaced, drawn_at=draw.drawn_at,
        voided_at=draw.voided_at, void_reason=draw.void_reason,
    )


async def list_public(session: AsyncSession, *, consultation_id: int | None, after: int | None,
                      limit: int) -> PublicDrawPage:
    filters = [Draw.consultation_id == consultation_id] if consultation_id is not None else []
    page = await keyset_page(session, Draw, filters, after=after, limit=limit)
    return PublicDrawPage(items=[to_public(d) for d in page.rows], total=page.total, next_after=page.next_after)


async def get_draw(session: AsyncSession, draw_id: int) -> Draw:
    draw = await session.get(Draw, draw_id)
    if draw is None:
        raise Problem(404, "Not Found", f"No draw with id {draw_id}.")
    return draw


async def list_draws(session: AsyncSession, *, consultation_id: int | None, after: int | None, limit: int) -> DrawPage:
    filters = [Draw.consultation_id == consultation_id] if consultation_id is not None else []
    page = await keyset_page(session, Draw, filters, after=after, limit=limit)
    return DrawPage(items=[to_read(d) for d in page.rows], total=page.total, next_after=page.next_after)


def drawn_record(draw: Draw) -> dict[str, Any]:
    if draw.status != "drawn" or draw.record is None:
        then = ("POST /draws/{id}/reveal with the announced public value" if awaits_reveal(draw)
                else "repeat the request that created it")
        raise Problem(409, "Draw not finished", f"Draw {draw.id} has its portfolio and commitment but no panel yet; "
                      f"{then} to finish it. GET /draws/{draw.id}/portfolio shows what is published so far.")
    return draw.record


def probabilities(draw: Draw, *, after: int | None, limit: int) -> ProbabilityPage:
    portfolio = Portfolio.from_dict(draw.portfolio)
    probs = sorted((int(pid), p) for pid, p in portfolio.probabilities.items())
    if after is not None:
        probs = [(pid, p) for pid, p in probs if pid > after]
    page = probs[:limit]
    return ProbabilityPage(
        items=[ProbabilityRead(person_id=pid, probability=fraction_str(p), probability_float=float(p)) for pid, p in page],
        total=len(portfolio.probabilities),
        next_after=page[-1][0] if len(probs) > limit else None,
        min_probability=fraction_str(portfolio.min_probability),
    )


# ----------------------------------------------------------------- eligibility
@dataclass
class Eligibility:
    pool: list[Person] = field(default_factory=list)
    excluded: dict[str, list[int]] = field(default_factory=dict)  # reason -> ids (recorded in the portfolio)
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> how many (not in the pool at all)

    def excluded_ids(self) -> list[int]:
        return sorted({pid for ids in self.excluded.values() for pid in ids})

    def summary(self) -> dict[str, Any]:
        return {"excluded": self.excluded, "left_out": self.left_out, "eligible": len(self.pool)}


def sort_eligibility(people: list[Person], terms: DrawTerms, now: datetime, *, already_out: set[int] = frozenset()) -> Eligibility:
    """Who may be drawn. Conflicts and cool-down go into the portfolio's excluded ids,
    so an auditor sees no panel contains them; the inactive, the unavailable and
    talents without the needed expertise are simply not in the pool."""
    result = Eligibility(excluded={"conflict": [], "cooldown": [], "unavailable": []},
                         left_out={"inactive": 0, "expertise": 0, "kind": 0})
    wanted_kinds = {k for k, n in terms.composition.model_dump().items() if n > 0}
    needed = set(terms.expertise)
    departments = set(terms.exclude_departments)
    cooldown_since = now - timedelta(days=terms.cooldown_days)
    today = now.astimezone(COUNTY_TZ).date()
    for person in people:
        if person.id in already_out:
            continue
        if person.kind not in wanted_kinds:
            result.left_out["kind"] += 1
        elif not person.active:
            result.left_out["inactive"] += 1
        elif person.kind == "talent" and needed and not needed & set(person.expertise):
            result.left_out["expertise"] += 1
        elif departments & (set(person.conflict_departments) | set(person.conflict_organisations)):
            result.excluded["conflict"].append(person.id)
        elif terms.cooldown_days and person.last_drawn_at is not None and person.last_drawn_at >= cooldown_since:
            result.excluded["cooldown"].append(person.id)
        elif person.unavailable_until is not None and person.unavailable_until >= today:
            result.excluded["unavailable"].append(person.id)
        else:
            result.pool.append(person)
    return result


def expertise_attribute(name: str) -> str:
    # A person has several fields, an engine attribute one value: each field a quota
    # names becomes a yes/no attribute of its own, so one person counts for each.
    return f"expertise:{name}"


#: the value of a kind-scoped attribute for people of other kinds: never quota'd
OTHER_KIND = "其他类别"


def engine_attribute(q: QuotaIn) -> str:
    """The engine attribute a quota constrains. A quota scoped to a kind ("four
    public representatives from this town") gets an attribute of its own, whose
    value is the person's for that kind and OTHER_KIND for everyone else."""
    base = expertise_attribute(q.value) if q.attribute == "expertise" else q.attribute
    return base if q.kind is None else f"{base}|{q.kind}"


def engine_quotas(terms: DrawTerms) -> list[Quota]:
    return [Quota(engine_attribute(q), "yes" if q.attribute == "expertise" else q.value, q.min, q.max)
            for q in terms.quotas]


def engine_person(person: Person, terms: DrawTerms) -> DrawPerson:
    attributes = {"kind": person.kind}
    for q in terms.quotas:
        if q.kind is not None and person.kind != q.kind:
            value = OTHER_KIND
        elif q.attribute == "expertise":
            value = "yes" if q.value in person.expertise else "no"
        else:
            value = getattr(person, q.attribute) or UNKNOWN
        attributes[engine_attribute(q)] = value
    return DrawPerson(str(person.id), attributes)


def readable(constraint: str) -> str:
    """The engine's words with the yes/no expertise attributes and kind scopes turned back."""
    constraint = re.sub(r"expertise:([^\s=,|]+)\|(\w+)=yes", r"expertise=\1 among \2", constraint)
    constraint = re.sub(r"(\w+)\|(\w+)=([^\s,]+)", r"\1=\3 among \2", constraint)
    constraint = re.sub(r"expertise:([^\s=,|]+)=yes", r"expertise=\1", constraint)
    return re.sub(r"expertise:([^\s=,|]+)", r"expertise \1", constraint)


# ----------------------------------------------------------------- requests
def normalise(data: DrawCreate) -> dict[str, Any]:
    """The request as stored and compared: order of lists does not matter."""
    body = data.model_dump(mode="json")
    body["expertise"] = sorted(body["expertise"])
    body["exclude_departments"] = sorted(body["exclude_departments"])
    body["quotas"] = sorted(body["quotas"], key=lambda q: (q["attribute"], q["value"], q["kind"] or ""))
    return body


def fingerprint(body: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(body))


async def _find(session: AsyncSession, consultation_id: int, round_: int) -> Draw | None:
    return await session.scalar(select(Draw).where(Draw.consultation_id == consultation_id, Draw.round == round_))


async def _latest(session: AsyncSession, consultation_id: int) -> Draw | None:
    return await session.scalar(
        select(Draw).where(Draw.consultation_id == consultation_id).order_by(Draw.round.desc()).limit(1)
    )


def _round_problem(detail: str, rule: str) -> Problem:
    return Problem(422, "Invalid request", f"round: {detail}", type_=PROBLEM_BASE + "validation",
                   errors=[{"field": "round", "rule": rule, "message": detail}])


async def _same_or_conflict(session: AsyncSession, draw: Draw, request_sha256: str) -> Draw:
    if draw.request_sha256 != request_sha256:
        raise Problem(409, "Conflict", f"Consultation {draw.consultation_id} already has draw {draw.id} for round "
                      f"{draw.round}, made from a different request; use a new round.", draw_id=draw.id)
    return await finish_draw(session, draw)


async def _build(call: Callable[..., Portfolio], *args: Any, **kwargs: Any) -> Portfolio:
    # CPU-bound (0.2 s at 100 people, seconds at 10,000): off the event loop.
    kind = "replacement" if call.__name__ == "draw_replacements" else "draw"
    try:
        with DRAW_DURATION.labels("talent", kind).time():
            return await asyncio.to_thread(call, *args, **kwargs)
    except InfeasibleQuotas as exc:
        constraint = readable(exc.constraint)
        raise Problem(422, "Infeasible quotas", f"The quotas cannot be met: {constraint}. Nothing was stored.",
                      type_=PROBLEM_BASE + "infeasible-quotas", constraint=constraint) from exc
    except InvalidDrawInput as exc:
        raise Problem(422, "Invalid draw request", readable(exc.message)) from exc


async def _all_people(session: AsyncSession) -> list[Person]:
    return list((await session.scalars(select(Person).order_by(Person.id))).all())


# ----------------------------------------------------------------- first draw
async def create_draw(session: AsyncSession, data: DrawCreate, principal: Principal) -> tuple[Draw, bool]:
    """Order: the same (consultation, round) answers its stored draw (or 409 for another
    request); then the round must be the consultation's next (0 first, or one after a
    voided latest draw); then eligibility, the portfolio, and the two phases."""
    request = normalise(data)
    request_sha256 = fingerprint(request)
    existing = await _find(session, data.consultation_id, data.round)
    if existing is not None:
        return await _same_or_conflict(session, existing, request_sha256), False
    latest = await _latest(session, data.consultation_id)
    if latest is not None and latest.round == data.round:
        # stored by a concurrent request between the two reads
        return await _same_or_conflict(session, latest, request_sha256), False
    if latest is None and data.round != 0:
        raise _round_problem(f"the first draw of consultation {data.consultation_id} is round 0.", "first_round")
    if latest is not None and latest.voided_at is None:
        raise Problem(409, "Conflict", f"Consultation {data.consultation_id} already has draw {latest.id} (round "
                      f"{latest.round}); replace its declined members through POST /draws/{latest.id}/replacements, "
                      f"or void it (POST /draws/{latest.id}/void, with a public reason) before drawing anew.",
                      draw_id=latest.id)
    if latest is not None and data.round != latest.round + 1:
        raise _round_problem(f"after the voided draw {latest.id} (round {latest.round}) the next draw is round "
                             f"{latest.round + 1}.", "consecutive")

    from ..sortition import build_portfolio

    terms = data.terms()
    eligibility = sort_eligibility(await _all_people(session), terms, utcnow())
    portfolio = await _build(
        build_portfolio,
        [engine_person(p, terms) for p in eligibility.pool],
        engine_quotas(terms),
        composition=terms.composition.model_dump(),
        excluded_ids=[str(pid) for pid in eligibility.excluded_ids()],
    )
    draw = Draw(consultation_id=data.consultation_id, round=data.round, replaces_draw_id=None, request=request,
                request_sha256=request_sha256, exclusions=eligibility.summary(), declined_ids=[])
    return await _commit_and_draw(session, draw, portfolio, data, principal)


# ----------------------------------------------------------------- replacements
async def create_replacement(
    session: AsyncSession, base_id: int, data: ReplacementCreate, principal: Principal
) -> tuple[Draw, bool]:
    """Order: the replaced draw must exist and not be void; the same (consultation,
    round) answers its stored draw; the replaced draw must be the consultation's
    latest, the round exactly one after it, and the draw drawn; the declined must be
    on its panel. The kept members stay, as many are drawn as declined, and the terms
    (composition, quotas, ...) of the first draw hold for the whole panel."""
    base = await get_draw(session, base_id)
    if base.voided_at is not None:
        raise Problem(409, "Conflict", f"Draw {base.id} is void ({base.void_reason}); it has no panel to complete.")
    body = {"replaces_draw_id": base.id, **data.model_dump(mode="json")}
    body["declined"] = sorted(body["declined"])
    request_sha256 = fingerprint(body)
    existing = await _find(session, base.consultation_id, data.round)
    if existing is not None:
        return await _same_or_conflict(session, existing, request_sha256), False
    latest = await _latest(session, base.consultation_id)
    if latest is not None and latest.round == data.round:
        # stored by a concurrent request between the two reads
        return await _same_or_conflict(session, latest, request_sha256), False
    if latest is not None and latest.id != base.id:
        raise Problem(409, "Conflict", f"Draw {base.id} is not the latest of consultation {base.consultation_id}; "
                      f"replacements start from draw {latest.id}.", draw_id=latest.id)
    if data.round != base.round + 1:
        raise _round_problem(f"a replacement of draw {base.id} (round {base.round}) is round {base.round + 1}.",
                             "consecutive")
    record = drawn_record(base)
    not_on_panel = sorted(set(data.declined) - set(base.panel))
    if not_on_panel:
        raise Problem(422, "Invalid request", f"declined: {not_on_panel} not on the panel of draw {base.id}.",
                      type_=PROBLEM_BASE + "validation",
                      errors=[{"field": "declined", "rule": "on_panel",
                               "message": f"{not_on_panel} not on the panel of draw {base.id}"}])

    from ..sortition import draw_replacements

    terms = DrawTerms.model_validate(base.request)
    request = {**base.request, "round": data.round, "public_randomness": data.public_randomness,
               "public_randomness_source": data.public_randomness_source,
               "public_randomness_at": body["public_randomness_at"],
               "public_randomness_format": data.public_randomness_format,
               "replaces_draw_id": base.id, "declined": body["declined"]}
    declined_so_far = sorted(set(base.declined_ids) | set(data.declined))
    panel = set(base.panel)
    # the panel is out of the pool (kept or declined); people who declined an earlier
    # round stay out too
    eligibility = sort_eligibility(await _all_people(session), terms, utcnow(), already_out=panel | set(declined_so_far))
    kept = _kept_members(record, panel - set(data.declined))
    portfolio = await _build(
        draw_replacements,
        [*kept, *(engine_person(p, terms) for p in eligibility.pool)],
        [str(pid) for pid in base.panel],
        [str(pid) for pid in data.declined],
        engine_quotas(terms),
        composition=terms.composition.model_dump(),
        excluded_ids=[str(pid) for pid in sorted(set(eligibility.excluded_ids()) | (set(declined_so_far) - panel))],
        previous_portfolio_hash=base.portfolio_hash,
    )
    if portfolio.panel_size - len(portfolio.fixed) != len(data.declined):
        raise Problem(422, "Invalid request", f"declined: the replacement would draw "
                      f"{portfolio.panel_size - len(portfolio.fixed)} for {len(data.declined)} declined.")
    draw = Draw(consultation_id=base.consultation_id, round=data.round, replaces_draw_id=base.id, request=request,
                request_sha256=request_sha256, exclusions=eligibility.summary(), declined_ids=declined_so_far)
    return await _commit_and_draw(session, draw, portfolio, data, principal)


def _kept_members(record: dict[str, Any], kept: set[int]) -> list[DrawPerson]:
    """Kept members with the values the base draw recorded: the replacement counts them
    as they were drawn, whatever was edited since (and even if they were erased)."""
    published = record["portfolio"]
    attributes = published["attributes"]
    values = {pid: vals for pid, vals in published["fixed"]}
    for t in published["types"]:
        for pid in t["members"]:
            values[pid] = t["values"]
    return [DrawPerson(str(pid), dict(zip(attributes, values[str(pid)]))) for pid in sorted(kept)]


# ----------------------------------------------------------------- the two phases
async def _commit_and_draw(
    session: AsyncSession, draw: Draw, portfolio: Portfolio, data: DrawCreate | ReplacementCreate,
    principal: Principal,
) -> tuple[Draw, bool]:
    secret = new_secret()
    draw.status = "committed"
    draw.portfolio = portfolio.to_dict()
    draw.portfolio_hash = portfolio.hash
    draw.commitment = commitment_for(secret)
    draw.secret = secret
    draw.public_randomness = data.public_randomness
    draw.public_randomness_source = data.public_randomness_source
    draw.public_randomness_at = data.public_randomness_at
    draw.public_randomness_format = data.public_randomness_format
    draw.min_probability = float(portfolio.min_probability)
    draw.algorithm_version = ALGORITHM_VERSION
    draw.created_by = principal.subject
    session.add(draw)
    try:
        await session.commit()  # phase 1: the lottery and the commitment, before any panel
    except IntegrityError:
        await session.rollback()  # a concurrent identical request stored it first
        existing = await _find(session, draw.consultation_id, draw.round)
        if existing is None:
            raise
        log.info("draw.concurrent_duplicate", draw_id=existing.id, consultation_id=draw.consultation_id, round=draw.round)
        return await _same_or_conflict(session, existing, draw.request_sha256), False
    log.info("draw.committed", draw_id=draw.id, consultation_id=draw.consultation_id, round=draw.round,
             portfolio_hash=draw.portfolio_hash, eligible=len(portfolio.probabilities))
    return await finish_draw(session, draw), True


async def finish_draw(session: AsyncSession, draw: Draw) -> Draw:
    """Phase 2, idempotent: derive the panel from what phase 1 stored."""
    if draw.status == "drawn" or awaits_reveal(draw):
        return draw
    portfolio = Portfolio.from_dict(draw.portfolio)
    if portfolio.hash != draw.portfolio_hash:
        raise Problem(500, "Internal Server Error", f"Draw {draw.id}: stored portfolio does not match its hash.")
    record = dataclasses.replace(
        draw_panel(portfolio, draw.secret, draw.public_randomness, draw.commitment), announcement=announcement(draw)
    )
    panel = sorted(int(pid) for pid in record.selection.panel)
    drawn = sorted(int(pid) for pid in record.selection.drawn_ids)
    now = utcnow()
    # end any read transaction first: on SQLite a write after a stale read is refused
    await session.commit()
    done = await session.execute(
        update(Draw)
        .where(Draw.id == draw.id, Draw.status == "committed")
        .values(status="drawn", record=record.to_dict(), panel=panel, drawn=drawn, drawn_at=now)
    )
    if done.rowcount == 1:
        # rotation: the newly drawn cool down from now (same transaction as the panel)
        await session.execute(update(Person).where(Person.id.in_(drawn)).values(last_drawn_at=now))
    await session.commit()
    await session.refresh(draw)
    if done.rowcount == 1:
        log.info("draw.drawn", draw_id=draw.id, consultation_id=draw.consultation_id, round=draw.round, seats=len(panel))
    return draw


def announcement(draw: Draw) -> dict[str, Any]:
    """What was published in phase 1 besides the portfolio: when, and which public value."""
    at = draw.public_randomness_at
    return {"announced_at": draw.created_at.isoformat() if draw.created_at else None,
            "public_randomness_source": draw.public_randomness_source,
            "public_randomness_at": at.isoformat() if at else None,
            "public_randomness_format": draw.public_randomness_format}


async def verify(session: AsyncSession, draw: Draw) -> VerificationReport:
    """The offline verifier on the stored record; a replacement round is checked
    against the record of the round it replaces."""
    from ..sortition import verify_draw

    record = drawn_record(draw)
    previous = None
    if draw.replaces_draw_id is not None:
        previous = drawn_record(await get_draw(session, draw.replaces_draw_id))
    # integer arithmetic and one small pricing problem, but seconds for a big pool:
    # off the event loop
    return await asyncio.to_thread(verify_draw, record, previous)


async def void(session: AsyncSession, draw_id: int, data: VoidCreate, principal: Principal) -> Draw:
    """Void the consultation's latest draw, with a reason published beside it. The
    draw stays stored and listed; the consultation's next draw is a new first draw,
    one round later. The same reason again answers the same draw."""
    draw = await get_draw(session, draw_id)
    if draw.voided_at is not None:
        if draw.void_reason == data.reason:
            return draw
        raise Problem(409, "Conflict", f"Draw {draw.id} was already voided, for another reason.")
    latest = await _latest(session, draw.consultation_id)
    if latest is not None and latest.id != draw.id:
        raise Problem(409, "Conflict", f"Only the latest draw of consultation {draw.consultation_id} "
                      f"(draw {latest.id}) can be voided.", draw_id=latest.id)
    await session.execute(
        update(Draw).where(Draw.id == draw.id, Draw.voided_at.is_(None))
        .values(voided_at=utcnow(), void_reason=data.reason, voided_by=principal.subject)
    )
    await session.commit()
    await session.refresh(draw)
    if draw.void_reason != data.reason:
        raise Problem(409, "Conflict", f"Draw {draw.id} was already voided, for another reason.")
    log.info("draw.voided", draw_id=draw.id, consultation_id=draw.consultation_id, round=draw.round)
    return draw


# ----------------------------------------------------------------- deferred reveal
def awaits_reveal(draw: Draw) -> bool:
    return draw.status == "committed" and draw.public_randomness_source is not None and draw.public_randomness is None


def published_portfolio(draw: Draw) -> PublishedPortfolio:
    return PublishedPortfolio(draw_id=draw.id, portfolio_hash=draw.portfolio_hash, commitment=draw.commitment,
                              public_randomness_source=draw.public_randomness_source,
                              public_randomness_at=draw.public_randomness_at,
                              public_randomness_format=draw.public_randomness_format,
                              announced_at=draw.created_at, portfolio=draw.portfolio)


async def reveal(session: AsyncSession, draw_id: int, data: RevealCreate) -> Draw:
    """The announced public value exists now: store it (once) and draw the panel.

    Order: the draw must have announced a source and not be void; the announced
    time must have come (409 before, with Retry-After); the value must have the
    announced format (422); then it is stored once and phase 2 runs."""
    draw = await get_draw(session, draw_id)
    if draw.public_randomness_source is None:
        raise Problem(409, "Conflict", f"Draw {draw.id} announced no public randomness to reveal.")
    if draw.voided_at is not None:
        raise Problem(409, "Conflict", f"Draw {draw.id} is void ({draw.void_reason}).")
    now = utcnow()
    if draw.public_randomness_at is not None and now < draw.public_randomness_at:
        wait = max(1, int((draw.public_randomness_at - now).total_seconds()) + 1)
        raise Problem(409, "Too early", f"Draw {draw.id} announced that {draw.public_randomness_source} becomes "
                      f"public at {draw.public_randomness_at.isoformat()}; the reveal is refused before.",
                      type_=PROBLEM_BASE + "reveal-too-early", headers={"Retry-After": str(wait)},
                      public_randomness_at=draw.public_randomness_at.isoformat())
    if draw.public_randomness_format is not None:
        problem = public_value_problem(data.public_randomness, draw.public_randomness_format)
        if problem is not None:
            raise Problem(422, "Invalid request", f"public_randomness: {problem}.", type_=PROBLEM_BASE + "validation",
                          errors=[{"field": "public_randomness", "rule": draw.public_randomness_format,
                                   "message": problem}])
    if draw.public_randomness is None:
        # conditional: of two concurrent reveals with different values, one wins
        await session.execute(
            update(Draw).where(Draw.id == draw.id, Draw.public_randomness.is_(None))
            .values(public_randomness=data.public_randomness)
        )
        await session.commit()
        await session.refresh(draw)
    if draw.public_randomness != data.public_randomness:
        raise Problem(409, "Conflict", f"Draw {draw.id} was revealed with another public value.")
    log.info("draw.revealed", draw_id=draw.id)
    return await finish_draw(session, draw)
