"""Building portfolios: the first draw and the replacement round."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .errors import InfeasibleQuotas, InvalidDrawInput
from .grouping import group_types
from .maximin import solve_maximin
from .model import DrawProblem, Person, Quota, make_problem
from .portfolio import WEIGHT_DENOMINATOR, Composition, Portfolio, PortfolioType

OBJECTIVES = ("maximin", "leximin")


def _integer_weights(probs: np.ndarray, denominator: int) -> list[int]:
    """Largest-remainder rounding to integers summing to ``denominator``.

    Deterministic: ties go to the lower index.
    """
    scaled = [float(p) * denominator for p in probs]
    floors = [int(s) for s in scaled]
    remainder = denominator - sum(floors)
    order = sorted(range(len(scaled)), key=lambda i: (-(scaled[i] - floors[i]), i))
    for i in order[: max(remainder, 0)]:
        floors[i] += 1
    # float sums can overshoot 1 by an ulp: take the excess from the largest weight
    if remainder < 0:
        floors[max(range(len(floors)), key=lambda i: (floors[i], -i))] += remainder
    return floors


def build_portfolio(
    people: Iterable[Person],
    quotas: Iterable[Quota] = (),
    panel_size: int | None = None,
    composition: Mapping[str, int] | None = None,
    excluded_ids: Iterable[str] = (),
    fixed: Sequence[Person] = (),
    replaces: tuple[str, Sequence[str]] | None = None,
    objective: str = "maximin",
) -> Portfolio:
    """Maximin distribution over panels meeting the quotas, as a publishable portfolio.

    ``people``: the eligible pool (anyone in ``excluded_ids`` is dropped and
    recorded, so the verifier can check no panel contains them).
    ``composition``: seats per kind, e.g. {"talent": 8, "member": 6,
    "public_rep": 5}; becomes exact quotas on the ``kind`` attribute.
    ``fixed``: people already on the panel (replacement round); quotas and
    ``panel_size`` describe the *whole* panel, fixed members included.
    ``objective``: "maximin" (the default) or "leximin" (leximin.py: maximin
    first, then the next smallest probabilities, level by level).

    Raises InfeasibleQuotas naming the constraint that cannot be met.
    """
    if objective not in OBJECTIVES:
        raise InvalidDrawInput(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    excluded = sorted(set(excluded_ids))
    excluded_set = set(excluded)
    fixed_list = sorted(fixed, key=lambda p: p.id)
    fixed_ids = {p.id for p in fixed_list}
    if fixed_ids & excluded_set:
        raise InvalidDrawInput(
            "a kept panel member is also excluded", ids=sorted(fixed_ids & excluded_set)
        )
    pool = [p for p in people if p.id not in excluded_set and p.id not in fixed_ids]

    # validate the whole panel's request (ids unique, attributes present)
    full = make_problem([*fixed_list, *pool], quotas, panel_size, composition)
    k = full.panel_size - len(fixed_list)
    if k <= 0:
        raise InvalidDrawInput(
            f"nothing to draw: {len(fixed_list)} kept members fill the panel of {full.panel_size}"
        )

    reduced: list[Quota] = []
    for q in full.quotas:
        kept = sum(1 for p in fixed_list if p.attributes[q.attribute] == q.value)
        assert q.max is not None
        if kept > q.max:
            raise InfeasibleQuotas(
                f"quota {q.label()} max {q.max} but {kept} kept members already have it",
                quota=q.label(),
            )
        reduced.append(
            Quota(q.attribute, q.value, max(0, q.min - kept), min(q.max - kept, k))
        )
    problem = DrawProblem(
        people=tuple(sorted(pool, key=lambda p: p.id)),
        quotas=tuple(reduced),
        panel_size=k,
        type_attributes=full.type_attributes,
    )
    link = None if replaces is None else (replaces[0], tuple(sorted(set(replaces[1]))))
    return _solve(problem, full, fixed_list, excluded, link, objective)


def _solve(
    problem: DrawProblem,
    full: DrawProblem,
    fixed: list[Person],
    excluded: list[str],
    replaces: tuple[str, tuple[str, ...]] | None,
    objective: str = "maximin",
) -> Portfolio:
    tp = group_types(problem)
    if objective == "leximin":
        from .leximin import solve_leximin

        sol, _ = solve_leximin(tp)
    else:
        sol = solve_maximin(tp)
    weights = _integer_weights(sol.probabilities, WEIGHT_DENOMINATOR)
    comps = []
    for w, x in zip(weights, sol.compositions):
        if w > 0:
            seats = tuple((int(t), int(x[t])) for t in np.flatnonzero(x))
            comps.append(Composition(w, seats))
    # order compositions by their content, not by the order the solver found them
    comps.sort(key=lambda c: c.seats)
    duals = np.maximum(sol.certificate, 0.0)
    prices = _integer_weights(duals / duals.sum(), WEIGHT_DENOMINATOR)
    attrs = full.type_attributes
    return Portfolio(
        attributes=attrs,
        panel_size=full.panel_size,
        quotas=tuple((q.attribute, q.value, q.min, q.max) for q in full.quotas),  # type: ignore[misc]
        fixed=tuple((p.id, tuple(p.attributes[a] for a in attrs)) for p in fixed),
        excluded_ids=tuple(excluded),
        types=tuple(PortfolioType(t.vector, t.member_ids) for t in tp.types),
        compositions=tuple(comps),
        lp_min_probability=repr(float(sol.min_probability)),
        lp_upper_bound=repr(float(sol.upper_bound)),
        dual_prices=tuple((t, w) for t, w in enumerate(prices) if w > 0),
        replaces=replaces,
        objective=objective,
    )


def draw_replacements(
    people: Iterable[Person],
    panel: Iterable[str],
    declined_ids: Iterable[str],
    quotas: Iterable[Quota] = (),
    panel_size: int | None = None,
    composition: Mapping[str, int] | None = None,
    excluded_ids: Iterable[str] = (),
    previous_portfolio_hash: str | None = None,
) -> Portfolio:
    """Portfolio for the seats of those who declined.

    The kept members (panel minus declined) are fixed; the pool is the
    eligible people minus the whole drawn panel and the decliners; quotas and
    size are those of the whole panel, so the final panel meets them. It is a
    new maximin draw, verified by the same machinery. With
    ``previous_portfolio_hash`` the portfolio names the round it replaces and
    the declined, so the verifier can check the kept members against that
    round's record.
    """
    people_list = list(people)
    by_id = {p.id: p for p in people_list}
    panel_ids = sorted(set(panel))
    declined = sorted(set(declined_ids))
    not_on_panel = [d for d in declined if d not in panel_ids]
    if not_on_panel:
        raise InvalidDrawInput(f"declined ids not on the panel: {not_on_panel}")
    if not declined:
        raise InvalidDrawInput("no declines: nothing to replace")
    kept_ids = [pid for pid in panel_ids if pid not in set(declined)]
    missing = [pid for pid in kept_ids if pid not in by_id]
    if missing:
        raise InvalidDrawInput(
            f"kept panel members missing from the people given: {missing}"
        )
    fixed = [by_id[pid] for pid in kept_ids]
    return build_portfolio(
        people_list,
        quotas,
        panel_size=panel_size,
        composition=composition,
        excluded_ids=[*excluded_ids, *declined],
        fixed=fixed,
        replaces=None if previous_portfolio_hash is None else (previous_portfolio_hash, declined),
    )
