"""1+2+4+X: warnings for what is missing, errors for what is impossible."""

from __future__ import annotations

from services.intake.decisions import plan_rules


def rules(formats: list[str]) -> tuple[list[str], list[str]]:
    warnings, errors = plan_rules.check(formats)
    return [w.rule for w in warnings], [e.rule for e in errors]


def test_empty_year_warns_about_everything_missing() -> None:
    assert rules([]) == (["missing_plenary", "missing_standing_committee", "missing_special_topic"], [])


def test_complete_plan_with_any_number_of_routine_consultations() -> None:
    plan = ["plenary", "standing_committee", "standing_committee", "standing_committee"] + ["special_topic"] * 4
    assert rules(plan + ["sector_micro"] * 25) == ([], [])


def test_impossible_plans_are_errors() -> None:
    assert rules(["plenary", "plenary"])[1] == ["too_many_plenary"]
    assert rules(["special_topic"] * 5)[1] == ["too_many_special_topic"]


def test_counts_name_every_format() -> None:
    assert plan_rules.counts(["plenary", "sector_micro", "sector_micro"]) == {
        "plenary": 1, "standing_committee": 0, "special_topic": 0, "sector_micro": 2
    }
