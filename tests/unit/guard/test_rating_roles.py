"""Ratings follow the rater: rater_kind comes from the caller's role, and one
consultation rating per rater, consultation and aspect (a second is refused, 409)."""

from __future__ import annotations

import pytest

from services.common.auth import Role

from .conftest import Services

RATING = {"consultation_topic_id": 4, "organiser": "教科卫体委", "plan_year": 2026, "aspect": "topic_precision", "score": 4}


@pytest.mark.parametrize(("role", "kind"), [
    (Role.DEPARTMENT, "department"), (Role.PUBLIC, "public"), (Role.CLERK, "party_government"),
])
async def test_rater_kind_follows_the_role(services: Services, role: Role, kind: str) -> None:
    evaluation = services.clients["evaluation"]
    for other in {"department", "public", "party_government"} - {kind}:
        refused = await evaluation.post("/ratings/consultations", json={**RATING, "rater_kind": other},
                                        headers=services.auth(role))
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "rater_kind"
    given = await evaluation.post("/ratings/consultations", json=RATING, headers=services.auth(role))
    assert given.status_code == 201 and given.json()["rater_kind"] == kind, given.text


async def test_one_rating_per_rater_consultation_and_aspect(services: Services) -> None:
    evaluation = services.clients["evaluation"]
    first = await evaluation.post("/ratings/consultations", json=RATING, headers=services.auth(Role.PUBLIC, "wx-a"))
    assert first.status_code == 201
    again = await evaluation.post("/ratings/consultations", json={**RATING, "score": 1},
                                  headers=services.auth(Role.PUBLIC, "wx-a"))
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    other_aspect = await evaluation.post("/ratings/consultations", json={**RATING, "aspect": "outcome_quality"},
                                         headers=services.auth(Role.PUBLIC, "wx-a"))
    other_rater = await evaluation.post("/ratings/consultations", json=RATING, headers=services.auth(Role.PUBLIC, "wx-b"))
    other_department = await evaluation.post("/ratings/consultations", json=RATING,
                                             headers=services.auth(Role.DEPARTMENT, "u", department="卫生健康局"))
    assert (other_aspect.status_code, other_rater.status_code, other_department.status_code) == (201, 201, 201)
    # A retry of the first request with its key is replayed, not refused.
    keyed = services.auth(Role.PUBLIC, "wx-c", key="r-1")
    assert (await evaluation.post("/ratings/consultations", json=RATING, headers=keyed)).status_code == 201
    replay = await evaluation.post("/ratings/consultations", json=RATING, headers=keyed)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    (Role.CHAIR, "standing_committee", "member"),
    (Role.COMMITTEE, "member", "standing_committee"),
    (Role.CLERK, "member", "committee"),
])
async def test_department_rater_kind_follows_the_role(services: Services, role: Role, allowed: str, refused: str) -> None:
    evaluation = services.clients["evaluation"]
    body = {"department": "教育体育局", "plan_year": 2026, "means": "inspection", "score": 3}
    no = await evaluation.post("/ratings/departments", json={**body, "rater_kind": refused}, headers=services.auth(role))
    yes = await evaluation.post("/ratings/departments", json={**body, "rater_kind": allowed}, headers=services.auth(role))
    assert (no.status_code, yes.status_code) == (422, 201), (no.text, yes.text)
