"""Infeasible requests raise InfeasibleQuotas naming the constraint."""

from __future__ import annotations

import pytest

from services.talent.sortition import (
    InfeasibleQuotas,
    InvalidDrawInput,
    Person,
    Quota,
    build_portfolio,
    draw_replacements,
)


def pool():
    # 3 women (all in town a), 5 men; 4 talents, 4 members
    spec = [
        ("f1", "female", "a", "talent"),
        ("f2", "female", "a", "member"),
        ("f3", "female", "a", "talent"),
        ("m1", "male", "a", "member"),
        ("m2", "male", "b", "talent"),
        ("m3", "male", "b", "member"),
        ("m4", "male", "c", "talent"),
        ("m5", "male", "c", "member"),
    ]
    return [Person(i, {"gender": g, "town": t, "kind": k}) for i, g, t, k in spec]


def test_min_above_eligible_names_the_quota():
    with pytest.raises(InfeasibleQuotas) as exc:
        build_portfolio(pool(), [Quota("gender", "female", 5, 6)], panel_size=6)
    assert exc.value.constraint == "quota gender=female min 5 but only 3 eligible"


def test_sum_of_mins_exceeds_panel_size():
    quotas = [
        Quota("town", "a", 2, 4),
        Quota("town", "b", 2, 2),
        Quota("town", "c", 2, 2),
    ]
    with pytest.raises(InfeasibleQuotas) as exc:
        build_portfolio(pool(), quotas, panel_size=5)
    assert "sum of mins over town (6) exceeds panel size 5" in str(exc.value)


def test_sum_of_maxes_below_panel_size():
    quotas = [Quota("town", v, 0, 1) for v in "abc"]
    with pytest.raises(InfeasibleQuotas) as exc:
        build_portfolio(pool(), quotas, panel_size=4)
    assert "sum of maxes over town" in str(exc.value)


def test_composition_needs_more_of_a_kind_than_eligible():
    with pytest.raises(InfeasibleQuotas) as exc:
        build_portfolio(pool(), composition={"talent": 5, "member": 1})
    assert exc.value.constraint == "quota kind=talent min 5 but only 4 eligible"


def test_pool_smaller_than_panel():
    with pytest.raises(InfeasibleQuotas, match="panel size 9 but only 8 eligible"):
        build_portfolio(pool(), panel_size=9)


def test_general_infeasibility_names_the_clashing_attributes():
    # every woman lives in town a, at most one seat for a, at least two women
    quotas = [Quota("gender", "female", 2, 3), Quota("town", "a", 0, 1)]
    with pytest.raises(InfeasibleQuotas) as exc:
        build_portfolio(pool(), quotas, panel_size=4)
    msg = str(exc.value)
    assert "gender" in msg and "town" in msg and "together" in msg


def test_replacement_when_kept_members_exceed_a_max():
    with pytest.raises(
        InfeasibleQuotas,
        match="quota gender=male max 1 but 2 kept members already have it",
    ):
        draw_replacements(
            pool(),
            panel=["m1", "m2", "f1"],
            declined_ids=["f1"],
            quotas=[Quota("gender", "male", 0, 1)],
            panel_size=3,
        )


def test_duplicate_ids_and_missing_attributes_are_input_errors():
    with pytest.raises(InvalidDrawInput):
        build_portfolio([*pool(), pool()[0]], panel_size=2)
    with pytest.raises(
        InvalidDrawInput, match="no string value for quota attribute 'sector'"
    ):
        build_portfolio(pool(), [Quota("sector", "x", 0, 1)], panel_size=2)
