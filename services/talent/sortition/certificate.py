"""Checking the optimality certificate of a published portfolio, independently of
the engine's column generation.

The type-level maximin LP over all valid compositions x (seats per type) is

    maximise z  s.t.  sum_c p_c x_c[t] / n_t >= z  for each reachable type t,
                      sum_c p_c = 1, p >= 0.

Its dual: for prices y >= 0 on the reachable types with sum y = 1,

    z* <= V(y) = max over valid compositions x of sum_t y_t x[t] / n_t

(weak duality: the smallest probability is at most the y-average of the
probabilities, which is the expected priced value of the drawn composition).
So with the published prices y, the verifier solves that one pricing problem
exactly (a small integer program over types; HiGHS with gap 0, its optimum
re-checked in integers), computes V(y) as an exact fraction, and requires

    published minimum probability >= V(y) * (1 - CERTIFICATE_TOLERANCE):

the published lottery is maximin, up to the tolerance (weights rounded to
2**-48, prices to 2**-48, solver tolerances of 1e-10). Separately, every type
with probability 0 must be unreachable: a second integer program maximises the
seats given to those types and must find 0, so a lottery cannot hide someone
by giving them nothing.

Order of operations: structure of the prices, the unreachability check, the
pricing problem, then the comparison with the claims (lp_min_probability,
lp_upper_bound, summary). HiGHS is imported here only, lazily.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .portfolio import Portfolio

#: relative slack between the certified bound and the published minimum
CERTIFICATE_TOLERANCE = Fraction(1, 10**8)
#: the relative gap HiGHS may report for the pricing problem solved with gap 0:
#: floating-point noise, far inside CERTIFICATE_TOLERANCE
PRICING_GAP_ACCEPTED = 1e-10


@dataclass(frozen=True)
class CertificateCheck:
    bound: Fraction | None  # V(y), None when it could not be computed
    failures: tuple[str, ...]


def _free_seats_and_bounds(pf: Portfolio) -> tuple[int, list[tuple[list[int], int, int]]]:
    """Seats left after the kept members, and each quota reduced by them, as
    (type indices having the value, min, max)."""
    attrs = pf.attributes
    kept: Counter = Counter()
    for _, vals in pf.fixed:
        for a, v in zip(attrs, vals):
            kept[(a, v)] += 1
    free = pf.panel_size - len(pf.fixed)
    rows = []
    for attr, value, lo, hi in pf.quotas:
        ai = attrs.index(attr)
        members = [ti for ti, t in enumerate(pf.types) if t.values[ai] == value]
        have = kept[(attr, value)]
        rows.append((members, max(0, lo - have), hi - have))
    return free, rows


def _best_composition(pf: Portfolio, objective: np.ndarray) -> list[int] | None:
    """An optimal valid composition for ``objective`` (gap 0), re-checked in integers;
    None when no valid composition exists."""
    import highspy

    free, rows = _free_seats_and_bounds(pf)
    n = len(pf.types)
    sizes = np.array([len(t.members) for t in pf.types], dtype=np.float64)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    inf = highspy.kHighsInf
    h.addCols(n, objective.astype(np.float64), np.zeros(n), sizes, 0,
              np.array([], np.int32), np.array([], np.int32), np.array([], np.float64))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger))
    h.addRow(float(free), float(free), n, np.arange(n, dtype=np.int32), np.ones(n))
    for members, lo, hi in rows:
        if hi < lo or hi < 0:
            return None
        idx = np.array(members, dtype=np.int32)
        h.addRow(float(lo), float(hi) if hi < free else inf, len(idx), idx, np.ones(len(idx)))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    gap = h.getInfo().mip_gap
    if status != highspy.HighsModelStatus.kOptimal or not gap <= PRICING_GAP_ACCEPTED:
        raise ArithmeticError(
            f"pricing problem not solved to proven optimality: {h.modelStatusToString(status)}, gap {gap!r}"
        )
    x = [round(v) for v in h.getSolution().col_value]
    ok = sum(x) == free and all(0 <= xi <= len(t.members) for xi, t in zip(x, pf.types))
    ok &= all(lo <= sum(x[ti] for ti in members) <= hi for members, lo, hi in rows)
    if not ok:
        raise ArithmeticError("the solver's composition does not meet the quotas in exact arithmetic")
    return x


def check_certificate(pf: Portfolio) -> CertificateCheck:
    failures: list[str] = []
    probs = pf.probabilities
    type_prob = [probs[t.members[0]] for t in pf.types]
    reachable = [p > 0 for p in type_prob]

    # 1. the prices: integers >= 0 on distinct reachable types, summing to the denominator
    prices = dict(pf.dual_prices)
    if len(prices) != len(pf.dual_prices):
        failures.append("a type is priced twice")
    if not prices or sum(prices.values()) != pf.weight_denominator or any(w <= 0 for w in prices.values()):
        failures.append("dual prices must be positive integers summing to the denominator")
    if any(not 0 <= ti < len(pf.types) or not reachable[ti] for ti in prices):
        failures.append("dual prices must lie on types that some panel includes")
    if failures:
        return CertificateCheck(None, tuple(failures))

    # 2. no one is left at 0 who could be on a valid panel
    zero = np.array([0.0 if r else 1.0 for r in reachable])
    if zero.any():
        x = _best_composition(pf, zero)
        if x is not None and any(x[ti] > 0 for ti in range(len(x)) if not reachable[ti]):
            failures.append("people with probability 0 could be on a valid panel")

    # 3. the pricing problem: V(y) = max sum_t y_t x_t / n_t, exactly
    objective = np.zeros(len(pf.types))
    for ti, w in prices.items():
        objective[ti] = w / pf.weight_denominator / len(pf.types[ti].members)
    scale = float(objective.max())
    x = _best_composition(pf, objective / scale)
    if x is None:
        return CertificateCheck(None, (*failures, "no valid composition exists"))
    bound = sum(
        (Fraction(w * x[ti], len(pf.types[ti].members)) for ti, w in prices.items()), Fraction(0)
    ) / pf.weight_denominator

    # 4. the bound meets the published minimum: nothing fairer exists
    minimum = pf.min_probability
    if minimum < bound * (1 - CERTIFICATE_TOLERANCE):
        failures.append(
            f"the lottery is not maximin: its minimum {float(minimum):.12g} is below the "
            f"certified optimum bound {float(bound):.12g}"
        )
    return CertificateCheck(bound, tuple(failures))


def claim_matches(claim: str | float, value: Fraction) -> bool:
    """A published float claim about the optimum agrees with the exact value."""
    try:
        c = Fraction(float(claim))
    except (TypeError, ValueError, OverflowError):
        return False
    return abs(c - value) <= value * CERTIFICATE_TOLERANCE
