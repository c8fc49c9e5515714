"""A research report's draw shape is checked against talent's vocabulary at intake."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.lifecycle.schemas import ResearchCompletion

BASE = {"summary": "调研完成，形成报告。", "expertise": ["学前教育"]}


def test_a_kind_scoped_town_quota_is_accepted() -> None:
    report = ResearchCompletion.model_validate({
        **BASE, "composition": {"talent": 3, "member": 3, "public_rep": 4},
        "quotas": [{"attribute": "town", "value": "玉蟾街道", "min": 4, "kind": "public_rep"}]})
    assert report.quotas[0].kind == "public_rep" and report.composition.public_rep == 4


@pytest.mark.parametrize(("quotas", "composition", "words"), [
    ([{"attribute": "gender", "value": "other", "min": 1}], None, "not a gender"),
    ([{"attribute": "expertise", "value": "烹饪", "min": 1}], None, "not a expertise"),
    ([{"attribute": "age_band", "value": "70+", "min": 1}], None, "not a age_band"),
    ([{"attribute": "hobby", "value": "x", "min": 1}], None, "hobby"),
    ([{"attribute": "town", "value": "玉蟾街道", "min": 1, "kind": "leader"}], None, "leader"),
    ([{"attribute": "town", "value": "玉蟾街道", "min": 3, "max": 2}], None, "below min"),
    ([{"attribute": "town", "value": "玉蟾街道", "min": 5, "kind": "public_rep"}],
     {"talent": 3, "member": 3, "public_rep": 4}, "exceeds the 4 seats of public_rep"),
    ([{"attribute": "town", "value": "玉蟾街道", "min": 1}, {"attribute": "town", "value": "玉蟾街道", "min": 2}],
     None, "two quotas"),
    ([], {"talent": 0, "member": 0, "public_rep": 0}, "at least one seat"),
])
def test_a_shape_outside_the_vocabulary_is_refused(quotas, composition, words) -> None:
    body = {**BASE, "quotas": quotas, **({"composition": composition} if composition else {})}
    with pytest.raises(ValidationError) as refused:
        ResearchCompletion.model_validate(body)
    assert words in str(refused.value)
