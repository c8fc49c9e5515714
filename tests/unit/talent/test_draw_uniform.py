"""Within a type, the panel's members are a uniformly random subset: who can serve
together does not depend on id order (which follows import order)."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from itertools import combinations

from services.talent.sortition import DrawSeed, Quota, build_portfolio, select_panel
from services.talent.sortition.portfolio import MemberStream, uniform_members
from tests.sortition_fixtures.synthetic import synthetic_pool

DRAWS = 3000


def test_every_subset_of_a_type_is_equally_likely():
    members = [f"p{i}" for i in range(6)]
    counts: Counter = Counter()
    for i in range(6000):
        counts[tuple(sorted(uniform_members(members, 2, MemberStream(f"seed-{i}".encode()))))] += 1
    assert set(counts) == set(combinations(members, 2))  # all 15 pairs
    expected = 6000 / 15
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 40  # 14 degrees of freedom: p < 1e-3 for a uniform sampler


def test_uniform_stream_is_exact_at_range_edges():
    stream = MemberStream(b"edges")
    assert all(stream.below(1) == 0 for _ in range(10))
    values = {stream.below(3) for _ in range(300)}
    assert values == {0, 1, 2}


def test_on_a_pool_of_150_every_same_type_pair_can_serve_together():
    people = synthetic_pool(150, seed=3, n_towns=3)
    quotas = [Quota("gender", "female", 8, 22)]
    portfolio = build_portfolio(people, quotas, composition={"talent": 12, "member": 9, "public_rep": 9})
    together: Counter = Counter()
    seen: Counter = Counter()
    for i in range(DRAWS):
        panel = select_panel(portfolio, DrawSeed(f"pairs-{i}")).panel
        seen.update(panel)
        on = set(panel)
        for t in portfolio.types:
            chosen = [pid for pid in t.members if pid in on]
            together.update(combinations(chosen, 2))
    pairs = 0
    for ti, t in enumerate(portfolio.types):
        # exact chance that two given members of t serve together
        p_pair = sum(
            (Fraction(c.weight, portfolio.weight_denominator) * Fraction(s * (s - 1), len(t.members) * (len(t.members) - 1))
             for c in portfolio.compositions for i, s in c.seats if i == ti and s >= 2),
            Fraction(0),
        )
        for pair in combinations(t.members, 2):
            pairs += 1
            assert p_pair * DRAWS >= 30, (t.values, float(p_pair))  # the test has the power it needs
            assert together[pair] > 0, (pair, float(p_pair))
    assert pairs > 1000
    # and the marginals are still the published probabilities
    for pid, p in portfolio.probabilities.items():
        se = math.sqrt(float(p) * (1 - float(p)) / DRAWS)
        assert abs(seen[pid] / DRAWS - float(p)) <= 5 * se, pid
