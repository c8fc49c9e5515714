"""Randomised pools: every panel of the portfolio meets the quotas, and the
minimum probability is the true maximin optimum (checked by brute force:
enumerate every valid panel of people and solve the maximin LP directly)."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from services.talent.sortition import (
    InfeasibleQuotas,
    Person,
    Quota,
    build_portfolio,
    draw_panel,
    draw_replacements,
    verify_draw,
)

ATTRS = {
    "kind": ("talent", "member", "public_rep"),
    "gender": ("female", "male"),
    "town": ("a", "b", "c"),
}


@st.composite
def requests(draw):
    n = draw(st.integers(4, 10))
    people = [
        Person(
            f"id{i:02d}", {a: draw(st.sampled_from(vals)) for a, vals in ATTRS.items()}
        )
        for i in range(n)
    ]
    k = draw(st.integers(1, min(n, 4)))
    quotas = []
    for a, vals in ATTRS.items():
        for v in vals:
            if draw(st.booleans()):
                lo = draw(st.sampled_from((0, 0, 0, 1, 1, 2)))
                hi = draw(st.integers(lo, max(lo, k)))
                quotas.append(Quota(a, v, lo, hi))
    return people, quotas, k


def _valid(panel, quotas, k):
    counts = Counter((a, p.attributes[a]) for p in panel for a in ATTRS)
    return len(panel) == k and all(
        q.min <= counts[(q.attribute, q.value)] <= q.max for q in quotas
    )


def _brute_maximin(people, quotas, k):
    panels = [c for c in combinations(people, k) if _valid(c, quotas, k)]
    if not panels:
        return None
    ids = sorted({p.id for c in panels for p in c})
    col = {pid: i for i, pid in enumerate(ids)}
    m = np.zeros((len(ids), len(panels)))
    for j, c in enumerate(panels):
        for p in c:
            m[col[p.id], j] = 1.0
    # variables: panel probabilities, then z; maximise z s.t. m p >= z
    n_p = len(panels)
    res = linprog(
        c=np.concatenate([np.zeros(n_p), [-1.0]]),
        A_ub=np.hstack([-m, np.ones((len(ids), 1))]),
        b_ub=np.zeros(len(ids)),
        A_eq=np.concatenate([np.ones(n_p), [0.0]])[None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * n_p + [(0, 1)],
        method="highs",
    )
    return -res.fun, set(ids)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(requests())
def test_quotas_always_met_and_optimum_is_maximin(req):
    people, quotas, k = req
    brute = _brute_maximin(people, quotas, k)
    if brute is None:
        event("infeasible")
        with pytest.raises(InfeasibleQuotas):
            build_portfolio(people, quotas, panel_size=k)
        return
    event("feasible")
    optimum, reachable = brute
    pf = build_portfolio(people, quotas, panel_size=k)
    by_id = {p.id: p for p in people}
    total = Fraction(0)
    marginals: Counter = Counter()
    for panel in pf.panels():
        assert list(panel.ids) == sorted(set(panel.ids))
        assert _valid([by_id[i] for i in panel.ids], quotas, k)
        total += panel.probability
        for pid in panel.ids:
            marginals[pid] += panel.probability
    assert total == 1
    # per-person probabilities are exactly the marginals of the panel distribution
    assert {pid: p for pid, p in pf.probabilities.items() if p} == dict(marginals)
    assert set(pf.unreachable_ids) == {p.id for p in people} - reachable
    assert float(pf.min_probability) == pytest.approx(optimum, rel=1e-6)
    record = draw_panel(pf, "secret", "1.2.3./")
    assert verify_draw(record.to_dict()).ok


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(requests(), st.data())
def test_replacement_round_keeps_every_quota(req, data):
    people, quotas, k = req
    if _brute_maximin(people, quotas, k) is None:
        event("infeasible request")
        return
    pf = build_portfolio(people, quotas, panel_size=k)
    panel = list(draw_panel(pf, "first", None).selection.panel)
    declined = data.draw(st.lists(st.sampled_from(panel), min_size=1, unique=True))
    try:
        replacement = draw_replacements(people, panel, declined, quotas, panel_size=k)
    except InfeasibleQuotas:
        # only acceptable if no valid completion exists among the remaining people
        kept = [p for p in people if p.id in panel and p.id not in declined]
        rest = [p for p in people if p.id not in panel]
        assert not any(
            _valid(kept + list(c), quotas, k) for c in combinations(rest, len(declined))
        )
        event("no valid completion")
        return
    event("replacements drawn")
    record = draw_panel(replacement, "second", None)
    assert verify_draw(record.to_dict()).ok
    by_id = {p.id: p for p in people}
    final = record.selection.panel
    assert set(panel) - set(declined) <= set(final)
    assert not set(record.selection.drawn_ids) & set(panel)
    assert _valid([by_id[i] for i in final], quotas, k)
    for p in replacement.panels():
        assert _valid([by_id[i] for i in p.ids], quotas, k)
