"""Sampling from the portfolio with many seeds reproduces the published probabilities."""

from __future__ import annotations

import math
from collections import Counter

from services.talent.sortition import DrawSeed, build_portfolio, select_panel
from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas

DRAWS = 20_000
#: each person's observed frequency must lie within 4 standard errors of the
#: published probability (a pass bound, chosen so a correct sampler fails with
#: probability ~6e-5 per person; the seeds are fixed, so the test is deterministic)
SIGMAS = 4.0


def test_empirical_frequencies_match_published_probabilities():
    composition, quotas = synthetic_quotas(6, n_towns=5)
    portfolio = build_portfolio(
        synthetic_pool(30, seed=2, n_towns=5), quotas, composition=composition
    )
    counts: Counter = Counter()
    for i in range(DRAWS):
        sel = select_panel(portfolio, DrawSeed(f"frequency-test-{i}", "public"))
        counts.update(sel.panel)
    worst = 0.0
    for pid, p in portfolio.probabilities.items():
        p = float(p)
        se = math.sqrt(p * (1 - p) / DRAWS) or 1.0 / DRAWS
        z = abs(counts[pid] / DRAWS - p) / se
        worst = max(worst, z)
        assert z <= SIGMAS, (pid, counts[pid] / DRAWS, p)
    # panels always have the right size, so total frequency is exactly k per draw
    assert sum(counts.values()) == 6 * DRAWS
