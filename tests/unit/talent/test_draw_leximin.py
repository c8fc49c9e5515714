"""Leximin (HiGHS only) beside maximin: same minimum, certified first level, and a
sorted probability vector that is lexicographically at least maximin's."""

from __future__ import annotations

import pytest

from services.talent.sortition import (
    InvalidDrawInput,
    build_portfolio,
    draw_panel,
    verify_draw,
)
from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas


@pytest.fixture(scope="module")
def both():
    composition, quotas = synthetic_quotas(8, n_towns=5)
    people = synthetic_pool(60, seed=4, n_towns=5)
    return (build_portfolio(people, quotas, composition=composition),
            build_portfolio(people, quotas, composition=composition, objective="leximin"))


def test_leximin_keeps_the_maximin_minimum_and_its_certificate_verifies(both):
    maximin, leximin = both
    assert leximin.to_dict()["objective"] == "leximin"
    assert float(leximin.min_probability) == pytest.approx(float(maximin.min_probability), rel=1e-8)
    report = verify_draw(draw_panel(leximin, "lex", None).to_dict())
    assert report.ok, report.text()


def test_leximin_sorted_vector_dominates_maximin(both):
    maximin, leximin = both
    a = sorted(float(p) for p in maximin.probabilities.values())
    b = sorted(float(p) for p in leximin.probabilities.values())
    assert abs(sum(a) - sum(b)) < 1e-9  # both give 8 seats in expectation
    for x, y in zip(a, b):
        if abs(x - y) > 1e-7:
            assert y > x, "leximin's first difference must be upward"
            break


def test_unknown_objective_is_refused():
    composition, quotas = synthetic_quotas(8, n_towns=5)
    with pytest.raises(InvalidDrawInput):
        build_portfolio(synthetic_pool(60, seed=4, n_towns=5), quotas, composition=composition, objective="utilitarian")
