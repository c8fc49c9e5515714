"""Who may be drawn, and how people become the engine's categorical attributes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.talent.draws.service import (
    engine_person,
    engine_quotas,
    readable,
    sort_eligibility,
)
from services.talent.people.models import Person
from services.talent.draws.schemas import DrawTerms

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
REQUEST = DrawTerms.model_validate({
    "composition": {"talent": 2, "member": 1, "public_rep": 0},
    "expertise": ["学前教育"],
    "quotas": [{"attribute": "expertise", "value": "学前教育", "min": 1, "max": None},
               {"attribute": "town", "value": "福集镇", "min": 0, "max": 1}],
    "exclude_departments": ["教育体育局"],
    "cooldown_days": 90,
})


def person(pid: int, **kw) -> Person:
    defaults = {"kind": "talent", "expertise": ["学前教育"], "active": True, "conflict_departments": [],
                "conflict_organisations": [], "last_drawn_at": None, "unavailable_until": None, "town": None}
    return Person(id=pid, display_name="x", **{**defaults, **kw})


def test_reasons() -> None:
    people = [
        person(1),
        person(2, expertise=["法律"]),
        person(3, kind="member", expertise=[]),  # members are not filtered by expertise
        person(4, kind="public_rep"),  # no seats for public reps
        person(5, active=False),
        person(6, conflict_organisations=["教育体育局"]),
        person(7, last_drawn_at=NOW - timedelta(days=30)),
        person(8, last_drawn_at=NOW - timedelta(days=91)),
        person(9, unavailable_until=date(2026, 11, 24)),  # still away today
        person(10, unavailable_until=date(2026, 11, 23)),
    ]
    result = sort_eligibility(people, REQUEST, NOW)
    assert [p.id for p in result.pool] == [1, 3, 8, 10]
    assert result.excluded == {"conflict": [6], "cooldown": [7], "unavailable": [9]}
    assert result.left_out == {"inactive": 1, "expertise": 1, "kind": 1}
    assert sort_eligibility(people, REQUEST.model_copy(update={"cooldown_days": 0}), NOW).excluded["cooldown"] == []


def test_each_expertise_in_a_quota_is_a_yes_no_attribute() -> None:
    p = engine_person(person(42, expertise=["基础教育", "学前教育"]), REQUEST)
    assert p.id == "42"
    assert dict(p.attributes) == {"kind": "talent", "expertise:学前教育": "yes", "town": "未填"}
    assert [(q.attribute, q.value, q.min) for q in engine_quotas(REQUEST)] == [
        ("expertise:学前教育", "yes", 1), ("town", "福集镇", 0)]
    assert readable("quota expertise:学前教育=yes min 3 but only 2 eligible") == "quota expertise=学前教育 min 3 but only 2 eligible"


def test_a_quota_scoped_to_a_kind_counts_only_that_kind() -> None:
    terms = DrawTerms.model_validate({
        "composition": {"talent": 2, "member": 0, "public_rep": 4},
        "quotas": [{"attribute": "town", "value": "福集镇", "min": 4, "max": None, "kind": "public_rep"},
                   {"attribute": "expertise", "value": "法律", "min": 1, "max": None, "kind": "talent"}],
    })
    rep = engine_person(person(1, kind="public_rep", town="福集镇", expertise=["法律"]), terms)
    talent = engine_person(person(2, town="福集镇", expertise=["法律"]), terms)
    assert dict(rep.attributes) == {"kind": "public_rep", "town|public_rep": "福集镇",
                                    "expertise:法律|talent": "其他类别"}
    assert dict(talent.attributes) == {"kind": "talent", "town|public_rep": "其他类别",
                                       "expertise:法律|talent": "yes"}
    assert [(q.attribute, q.value, q.min) for q in engine_quotas(terms)] == [
        ("town|public_rep", "福集镇", 4), ("expertise:法律|talent", "yes", 1)]
    assert readable("quota town|public_rep=福集镇 min 4 but only 3 eligible") == (
        "quota town=福集镇 among public_rep min 4 but only 3 eligible")
    assert readable("quota expertise:法律|talent=yes min 2 but only 1 eligible") == (
        "quota expertise=法律 among talent min 2 but only 1 eligible")
