"""The talent service over HTTP on the real stack (SQLite and PostgreSQL): the pool,
file imports, and fair, verifiable, idempotent draws.

The pool grows as the tests run (one stack per backend), so draw tests check what
the stored record says rather than assuming who else is in the pool.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from services.common.auth import Role
from services.talent.seed import generate_pool, to_csv
from services.talent.vocabulary import EXPERTISE_FIELDS
from tests.stack import Stack

pytestmark = pytest.mark.e2e

TIMEOUT = 60


def talent(stack: Stack) -> str:
    return stack.url("talent")


def post(stack: Stack, path: str, body: Any, role: Role = Role.SERVICE, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(talent(stack) + path, json=body, headers={**stack.auth(role), **(headers or {})}, timeout=TIMEOUT)


def get(stack: Stack, path: str, role: Role = Role.SERVICE, **params: Any) -> httpx.Response:
    return httpx.get(talent(stack) + path, params=params, headers=stack.auth(role), timeout=TIMEOUT)


def person_count(stack: Stack) -> int:
    return get(stack, "/people", Role.CLERK, limit=1).json()["total"]


def export(stack: Stack, draw_id: int) -> dict[str, Any]:
    response = get(stack, f"/draws/{draw_id}/export", Role.OPERATOR)
    assert response.status_code == 200, response.text
    return response.json()


def attributes_of(record: dict[str, Any]) -> dict[int, dict[str, str]]:
    """Each drawable or kept person's recorded values: what the auditor sees."""
    published = record["portfolio"]
    names = published["attributes"]
    out = {int(pid): dict(zip(names, vals)) for pid, vals in published["fixed"]}
    for t in published["types"]:
        for pid in t["members"]:
            out[int(pid)] = dict(zip(names, t["values"]))
    return out


@pytest.fixture(scope="module")
def pool(stack: Stack) -> list[int]:
    """The demo pool (100 talents, 30 members, 40 public reps), imported once per backend."""
    response = httpx.post(
        talent(stack) + "/people/import", files={"file": ("pool.csv", to_csv(generate_pool(seed=7)), "text/csv")},
        headers=stack.auth(Role.CLERK), timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()["person_ids"]


KINDERGARTEN_DRAW = {
    "composition": {"talent": 8, "member": 6, "public_rep": 5},
    "expertise": ["学前教育", "基础教育"],
    "quotas": [
        {"attribute": "gender", "value": "female", "min": 7, "max": None},
        {"attribute": "gender", "value": "male", "min": 7, "max": None},
        {"attribute": "expertise", "value": "学前教育", "min": 2, "max": None},
        {"attribute": "town", "value": "玉蟾街道", "min": 0, "max": 6},
    ],
    "exclude_departments": ["教育体育局"],
    "cooldown_days": 0,
}


# ---------------------------------------------------------------------- the pool
def test_person_crud_and_contact_only_for_clerks(stack: Stack) -> None:
    body = {
        "kind": "talent", "display_name": "赵幼教", "expertise": ["学前教育", "基础教育"], "tags": ["幼儿教师"],
        "sector": "教育界", "town": "福集镇", "gender": "female", "age_band": "40-49",
        "conflict_organisations": ["县实验幼儿园"], "phone": "13800001111", "email": "zhao@example.cn",
    }
    created = post(stack, "/people", body, Role.CLERK, headers={"Idempotency-Key": f"crud-{stack.backend}"})
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["contact"] == {"phone": "13800001111", "email": "zhao@example.cn"}
    again = post(stack, "/people", body, Role.CLERK, headers={"Idempotency-Key": f"crud-{stack.backend}"})
    assert (again.status_code, again.json()["id"]) == (201, person["id"])  # the first answer, replayed
    assert again.headers["Idempotent-Replayed"] == "true"

    for role in (Role.COMMITTEE, Role.OPERATOR, Role.SERVICE, Role.CHAIR):
        read = get(stack, f"/people/{person['id']}", role)
        assert read.status_code == 200 and read.json()["contact"] is None
        assert read.json()["display_name"] is None  # need to know: names are the office's
        assert "13800001111" not in read.text and "zhao@" not in read.text and "赵幼教" not in read.text
        listed = get(stack, "/people", role, tag="幼儿教师")
        assert "13800001111" not in listed.text
    department = httpx.get(f"{talent(stack)}/people", headers=stack.auth(Role.DEPARTMENT, department="教育体育局"))
    assert department.status_code == 403

    patched = httpx.patch(
        f"{talent(stack)}/people/{person['id']}", json={"unavailable_until": "2099-01-01", "phone": None, "town": "嘉明镇"},
        headers=stack.auth(Role.CLERK),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["town"] == "嘉明镇" and patched.json()["contact"]["phone"] is None
    assert patched.json()["expertise"] == ["学前教育", "基础教育"]  # untouched
    refused = httpx.patch(f"{talent(stack)}/people/{person['id']}", json={"town": "x"}, headers=stack.auth(Role.SERVICE))
    assert refused.status_code == 403
    bad = httpx.patch(f"{talent(stack)}/people/{person['id']}", json={"kind": None}, headers=stack.auth(Role.CLERK))
    assert bad.status_code == 422 and "kind" in bad.text

    found = get(stack, "/people", Role.CLERK, expertise="学前教育", town="嘉明镇", limit=200).json()
    assert person["id"] in [p["id"] for p in found["items"]]
    assert all("学前教育" in p["expertise"] and p["town"] == "嘉明镇" for p in found["items"])

    deleted = httpx.delete(f"{talent(stack)}/people/{person['id']}", headers=stack.auth(Role.CLERK))
    assert deleted.status_code == 204
    assert get(stack, f"/people/{person['id']}").status_code == 404


def test_people_pages_with_filters(stack: Stack, pool: list[int]) -> None:
    first = get(stack, "/people", Role.COMMITTEE, kind="member", limit=7).json()
    assert len(first["items"]) == 7 and first["total"] >= 30 and first["next_after"] is not None
    seen = [p["id"] for p in first["items"]]
    after = first["next_after"]
    while after is not None:
        page = get(stack, "/people", Role.COMMITTEE, kind="member", limit=7, after=after).json()
        seen += [p["id"] for p in page["items"]]
        after = page["next_after"]
    assert seen == sorted(seen) and len(seen) == first["total"]
    assert {p["kind"] for p in get(stack, "/people", kind="member", limit=200).json()["items"]} == {"member"}


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"kind": "talent", "display_name": "x", "expertise": ["占卜"]}, "expertise.0", "literal_error"),
        ({"kind": "elder", "display_name": "x"}, "kind", "literal_error"),
        ({"kind": "talent", "display_name": ""}, "display_name", "string_too_short"),
        ({"kind": "talent", "display_name": "x", "phone": "call me"}, "phone", "string_pattern_mismatch"),
        ({"kind": "talent", "display_name": "x", "age_band": "old"}, "age_band", "literal_error"),
        ({"kind": "talent", "display_name": "x", "surprise": 1}, "surprise", "extra_forbidden"),
    ],
)
def test_bad_person_is_422_naming_the_field(stack: Stack, body: dict, field: str, rule: str) -> None:
    response = post(stack, "/people", body, Role.CLERK)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]} for e in response.json()["errors"]]


# ---------------------------------------------------------------------- imports
IMPORT_HEADER = ["姓名", "类别", "专业领域", "界别", "镇街", "性别", "年龄段", "回避部门", "电话"]
GOOD_ROWS = [
    ["钱学前", "协商人才", "学前教育、基础教育", "教育界", "玉蟾街道", "女", "30-39", "", "13900002222"],
    ["孙医生", "人才", "医疗卫生", "医药卫生界", "福集镇", "男", "50-59", "卫生健康局", ""],
    ["李委员", "政协委员", "养老服务", "民盟", "嘉明镇", "女", "60+", "", ""],
    ["周大姐", "群众代表", "", "", "喻寺镇", "女", "40-49", "", ""],
]


def upload(stack: Stack, name: str, content: bytes, mime: str, key: str | None = None) -> httpx.Response:
    headers = {**stack.auth(Role.CLERK), **({"Idempotency-Key": key} if key else {})}
    return httpx.post(f"{talent(stack)}/people/import", files={"file": (name, content, mime)}, headers=headers, timeout=TIMEOUT)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join(r) for r in [IMPORT_HEADER, *rows]).encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [IMPORT_HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_import_with_bad_rows_stores_nothing_and_names_rows(stack: Stack, file_format: str) -> None:
    rows = [
        GOOD_ROWS[0],
        ["", "协商人才", "法律", "", "", "", "", "", ""],  # row 3: no name
        GOOD_ROWS[1],
        ["王某", "协商人才", "占卜", "", "", "未知", "", "", ""],  # row 5: unknown field and gender
    ]
    before = person_count(stack)
    if file_format == "csv":
        response = upload(stack, "bad.csv", csv_bytes(rows), "text/csv")
    else:
        response = upload(stack, "bad.xlsx", xlsx_bytes(rows), XLSX)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = {(e["row"], e["field"], e["rule"]) for e in response.json()["errors"]}
    assert errors == {(3, "display_name", "missing"), (5, "expertise", "literal_error"), (5, "gender", "literal_error")}
    assert person_count(stack) == before


def test_import_unknown_column_is_row_1(stack: Stack) -> None:
    content = "姓名,类别,身份证号\n某某,协商人才,110\n".encode()
    response = upload(stack, "x.csv", content, "text/csv")
    assert response.status_code == 422
    assert response.json()["errors"][0] | {"message": ""} == {"row": 1, "field": "身份证号", "rule": "unknown_column", "message": ""}


@pytest.mark.parametrize("file_format", ["csv-gbk", "xlsx"])
def test_good_import_stores_every_row(stack: Stack, file_format: str) -> None:
    before = person_count(stack)
    key = f"import-{file_format}-{stack.backend}"
    if file_format == "xlsx":
        rows = [r.copy() for r in GOOD_ROWS]
        rows[0][8] = 13900002222  # Excel keeps phone numbers as numbers
        sent = ("good.xlsx", xlsx_bytes(rows), XLSX)
    else:
        sent = ("good.csv", csv_bytes(GOOD_ROWS, "gbk"), "text/csv")
    response = upload(stack, *sent, key)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["rows"] == 4 and len(result["person_ids"]) == 4
    assert person_count(stack) == before + 4
    first = get(stack, f"/people/{result['person_ids'][0]}", Role.CLERK).json()
    assert first["display_name"] == "钱学前" and first["kind"] == "talent" and first["gender"] == "female"
    assert first["expertise"] == ["学前教育", "基础教育"] and first["contact"]["phone"] == "13900002222"
    second = get(stack, f"/people/{result['person_ids'][1]}", Role.CLERK).json()
    assert second["conflict_departments"] == ["卫生健康局"]
    repeated = upload(stack, *sent, key)  # the same file again (a new multipart boundary)
    assert repeated.status_code == 201 and repeated.json() == result
    assert repeated.headers["Idempotent-Replayed"] == "true"
    other_file = upload(stack, "good.csv", csv_bytes(GOOD_ROWS[:1], "gbk"), "text/csv", key)
    assert other_file.status_code == 422 and other_file.json()["field"] == "Idempotency-Key"
    assert person_count(stack) == before + 4


# ---------------------------------------------------------------------- draws
def test_draw_meets_composition_and_quotas_and_verifies(stack: Stack, pool: list[int], tmp_path: Path) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 101, "round": 0, "public_randomness": "3.8.12.17.29.41./5./"}
    response = post(stack, "/draws", body)
    assert response.status_code == 201, response.text
    draw = response.json()
    assert set(draw) == {"id", "consultation_id", "round", "panel", "drawn", "replaces_draw_id", "portfolio_hash",
                         "commitment", "min_probability", "algorithm_version", "created_at", "status",
                         "public_randomness_source", "public_randomness_at", "void_reason"}
    assert draw["consultation_id"] == 101 and draw["round"] == 0 and draw["replaces_draw_id"] is None
    assert draw["panel"] == sorted(draw["panel"]) == draw["drawn"] and len(draw["panel"]) == 19
    assert 0 < draw["min_probability"] <= 1

    people = {pid: get(stack, f"/people/{pid}").json() for pid in draw["panel"]}
    kinds = [p["kind"] for p in people.values()]
    assert (kinds.count("talent"), kinds.count("member"), kinds.count("public_rep")) == (8, 6, 5)
    assert all({"学前教育", "基础教育"} & set(p["expertise"]) for p in people.values() if p["kind"] == "talent")
    assert sum(p["gender"] == "female" for p in people.values()) >= 7
    assert sum(p["gender"] == "male" for p in people.values()) >= 7
    assert sum("学前教育" in p["expertise"] for p in people.values()) >= 2
    assert sum(p["town"] == "玉蟾街道" for p in people.values()) <= 6
    assert not any("教育体育局" in p["conflict_departments"] for p in people.values())
    assert all(p["last_drawn_at"] is not None for p in people.values())

    record = export(stack, draw["id"])
    assert record["portfolio_hash"] == draw["portfolio_hash"] and record["commitment"] == draw["commitment"]
    assert sorted(int(i) for i in record["selection"]["panel"]) == draw["panel"]  # the engine sorts ids as text
    assert record["seed"]["public_randomness"] == body["public_randomness"]
    assert "display_name" not in json.dumps(record, ensure_ascii=False)  # ids and categories only

    verified = get(stack, f"/draws/{draw['id']}/verify", Role.COMMITTEE).json()
    assert verified["ok"] is True and not verified["failures"], verified

    # an auditor, offline, in a fresh process with another hash seed
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    audit = subprocess.run([sys.executable, "-m", "services.talent.sortition.verify", str(path)],
                           env=env, capture_output=True, text=True, timeout=60, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "VERIFIED" in audit.stdout

    probs = get(stack, f"/draws/{draw['id']}/probabilities", limit=20000).json()
    assert probs["total"] == len(probs["items"]) and probs["next_after"] is None
    by_id = {p["person_id"]: p["probability_float"] for p in probs["items"]}
    assert set(draw["panel"]) <= set(by_id)
    assert abs(sum(by_id.values()) - 19) < 1e-9  # expected panel size
    assert min(v for v in by_id.values() if v > 0) == pytest.approx(draw["min_probability"])
    first_page = get(stack, f"/draws/{draw['id']}/probabilities", limit=10).json()
    assert len(first_page["items"]) == 10 and first_page["next_after"] == first_page["items"][-1]["person_id"]

    listed = get(stack, "/draws", Role.OPERATOR, consultation_id=101).json()
    assert [d["id"] for d in listed["items"]] == [draw["id"]]
    assert get(stack, f"/draws/{draw['id']}", Role.OPERATOR).json() == draw


def test_concurrent_identical_requests_make_one_draw(stack: Stack, pool: list[int]) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 202, "round": 0}
    with ThreadPoolExecutor(5) as executor:
        answers = list(executor.map(lambda _: post(stack, "/draws", body), range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert get(stack, "/draws", consultation_id=202).json()["total"] == 1
    retried = post(stack, "/draws", {**body, "quotas": list(reversed(body["quotas"]))})  # same request, other order
    assert retried.status_code == 200 and retried.json()["id"] == answers[0].json()["id"]
    clash = post(stack, "/draws", {**body, "cooldown_days": 30})
    assert clash.status_code == 409 and clash.headers["content-type"] == "application/problem+json"
    assert clash.json()["draw_id"] == answers[0].json()["id"]


def test_infeasible_quotas_are_422_naming_the_constraint_and_store_nothing(stack: Stack, pool: list[int]) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 303, "round": 0,
            "quotas": [{"attribute": "town", "value": "不存在镇", "min": 1, "max": None}]}
    response = post(stack, "/draws", body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["constraint"] == "quota town=不存在镇 min 1 but only 0 eligible"
    too_many = post(stack, "/draws", {**body, "quotas": [], "composition": {"talent": 5000}})
    assert too_many.status_code == 422 and "composition.talent" in too_many.text
    expertise = post(stack, "/draws", {**body, "quotas": [
        {"attribute": "expertise", "value": "水利", "min": 19, "max": None}]})
    assert expertise.status_code == 422 and "expertise=水利" in expertise.json()["constraint"]
    assert get(stack, "/draws", consultation_id=303).json()["total"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"composition": {"talent": 0}}, "composition"),
        ({"composition": {"talents": 3}}, "composition.talents"),
        ({"quotas": [{"attribute": "shoe_size", "value": "42", "min": 1}]}, "quotas.0.attribute"),
        ({"quotas": [{"attribute": "gender", "value": "female", "min": 5, "max": 2}]}, "quotas.0"),
        ({"quotas": [{"attribute": "expertise", "value": "占卜", "min": 1}]}, "quotas.0"),
        ({"expertise": ["占卜"]}, "expertise.0"),
        ({"cooldown_days": -1}, "cooldown_days"),
        ({"consultation_id": "abc"}, "consultation_id"),
        ({"round": -1}, "round"),
    ],
)
def test_bad_draw_request_is_422_naming_the_field(stack: Stack, change: dict, field: str) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 404, "round": 0, **change}
    response = post(stack, "/draws", body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text


def test_draw_roles(stack: Stack) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 405, "round": 0}
    for role in (Role.COMMITTEE, Role.OPERATOR, Role.DEPARTMENT, Role.PUBLIC):
        kwargs = {"department": "教育体育局"} if role is Role.DEPARTMENT else {}
        response = httpx.post(f"{talent(stack)}/draws", json=body, headers=stack.auth(role, **kwargs))
        assert response.status_code == 403, (role, response.text)
    assert httpx.get(f"{talent(stack)}/draws/1", headers=stack.auth(Role.PUBLIC)).status_code == 403
    assert get(stack, "/draws/999999").status_code == 404


def test_conflicts_cooldown_and_availability_exclude(stack: Stack, pool: list[int]) -> None:
    def add(**extra: Any) -> int:
        body = {"kind": "talent", "display_name": "测试人才", "expertise": ["水利"], "gender": "male", **extra}
        response = post(stack, "/people", body, Role.CLERK)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    conflicted = add(conflict_departments=["水务局"])
    conflicted_org = add(conflict_organisations=["水务局"])
    away = add(unavailable_until="2099-12-31")
    inactive = add(active=False)
    eligible = add()
    body = {"consultation_id": 505, "round": 0, "composition": {"talent": 2}, "expertise": ["水利"],
            "exclude_departments": ["水务局"], "cooldown_days": 90}
    first = post(stack, "/draws", body)
    assert first.status_code == 201, first.text
    record = export(stack, first.json()["id"])
    drawable = attributes_of(record)
    assert eligible in drawable
    assert {conflicted, conflicted_org, away, inactive}.isdisjoint(drawable)
    assert {str(conflicted), str(conflicted_org), str(away)} <= set(record["portfolio"]["excluded_ids"])
    probs = {p["person_id"] for p in get(stack, f"/draws/{first.json()['id']}/probabilities", limit=20000).json()["items"]}
    assert {conflicted, conflicted_org, away, inactive}.isdisjoint(probs)

    # rotation: whoever was drawn now cools down for the next consultation
    second = post(stack, "/draws", {**body, "consultation_id": 506})
    if second.status_code == 201:
        assert set(first.json()["panel"]).isdisjoint(attributes_of(export(stack, second.json()["id"])))
        assert set(first.json()["panel"]) <= {int(i) for i in export(stack, second.json()["id"])["portfolio"]["excluded_ids"]}
    else:  # the water-engineering talents ran out: that is a 422 naming it, never a repeat
        assert second.status_code == 422 and "kind=talent" in second.json()["constraint"], second.text
    no_rotation = post(stack, "/draws", {**body, "consultation_id": 507, "cooldown_days": 0})
    assert no_rotation.status_code == 201
    assert set(first.json()["panel"]) <= set(attributes_of(export(stack, no_rotation.json()["id"])))


def test_replacement_round_keeps_quotas_and_excludes_the_declined(stack: Stack, pool: list[int]) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 606, "round": 0}
    first = post(stack, "/draws", body).json()
    declined = first["panel"][:3]
    response = post(stack, f"/draws/{first['id']}/replacements", {"round": 1, "declined": declined})
    assert response.status_code == 201, response.text
    second = response.json()
    assert second["replaces_draw_id"] == first["id"] and second["round"] == 1 and second["consultation_id"] == 606
    assert len(second["panel"]) == 19 and len(second["drawn"]) == 3
    assert set(second["panel"]) == (set(first["panel"]) - set(declined)) | set(second["drawn"])
    assert set(declined).isdisjoint(second["panel"])
    assert get(stack, f"/draws/{second['id']}/verify").json()["ok"] is True

    # the quotas hold for the whole new panel, counted on the recorded values
    record = export(stack, second["id"])
    values = attributes_of(record)
    panel = [values[pid] for pid in second["panel"]]
    assert [v["kind"] for v in panel].count("talent") == 8
    assert sum(v["gender"] == "female" for v in panel) >= 7 and sum(v["gender"] == "male" for v in panel) >= 7
    assert sum(v["expertise:学前教育"] == "yes" for v in panel) >= 2

    again = post(stack, f"/draws/{first['id']}/replacements", {"round": 1, "declined": list(reversed(declined))})
    assert again.status_code == 200 and again.json() == second
    other = post(stack, f"/draws/{first['id']}/replacements", {"round": 1, "declined": declined[:1]})
    assert other.status_code == 409
    stranger = post(stack, f"/draws/{second['id']}/replacements", {"round": 2, "declined": [999999]})
    assert stranger.status_code == 422 and "declined" in stranger.json()["detail"]

    # a second round replaces from the first replacement; earlier decliners stay out
    third = post(stack, f"/draws/{second['id']}/replacements", {"round": 2, "declined": second["drawn"][:1]})
    assert third.status_code == 201, third.text
    assert set(declined + second["drawn"][:1]).isdisjoint(third.json()["panel"])
    assert get(stack, "/draws", consultation_id=606).json()["total"] == 3


def test_min_probability_equals_the_library_optimum(stack: Stack, pool: list[int]) -> None:
    from services.talent.sortition import Person, Quota
    from tests.sortition_fixtures.reference import library_maximin

    body = {"consultation_id": 707, "round": 0, "composition": {"talent": 4, "member": 3, "public_rep": 3},
            "expertise": ["医疗卫生", "养老服务"], "cooldown_days": 0,
            "quotas": [{"attribute": "gender", "value": "female", "min": 4, "max": None},
                       {"attribute": "expertise", "value": "养老服务", "min": 2, "max": None}]}
    draw = post(stack, "/draws", body).json()
    record = export(stack, draw["id"])
    people = [Person(str(pid), values) for pid, values in attributes_of(record).items()]
    quotas = [Quota(a, v, lo, hi) for a, v, lo, hi in record["portfolio"]["quotas"]]
    started = time.monotonic()
    optimum, _ = library_maximin(people, quotas, panel_size=record["portfolio"]["panel_size"])
    assert time.monotonic() - started < 10
    assert draw["min_probability"] == pytest.approx(optimum, rel=1e-6)


_consultations = itertools.count(10_000)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    composition=st.fixed_dictionaries({"talent": st.integers(1, 8), "member": st.integers(0, 6),
                                       "public_rep": st.integers(0, 5)}),
    expertise=st.lists(st.sampled_from(EXPERTISE_FIELDS), min_size=1, max_size=4, unique=True),
    female_min=st.integers(0, 9),
    town_max=st.integers(0, 6),
    field=st.sampled_from(EXPERTISE_FIELDS),
    field_min=st.integers(0, 3),
)
def test_random_requests_meet_their_quotas_or_name_the_constraint(
    stack: Stack, pool: list[int], composition: dict[str, int], expertise: list[str], female_min: int,
    town_max: int, field: str, field_min: int,
) -> None:
    quotas = [
        {"attribute": "gender", "value": "female", "min": female_min, "max": None},
        {"attribute": "town", "value": "玉蟾街道", "min": 0, "max": town_max},
        {"attribute": "expertise", "value": field, "min": field_min, "max": None},
    ]
    body = {"consultation_id": next(_consultations), "round": 0, "composition": composition,
            "expertise": expertise, "quotas": quotas, "cooldown_days": 0}
    response = post(stack, "/draws", body)
    if response.status_code == 422:
        assert response.json()["constraint"], response.text
        assert get(stack, "/draws", consultation_id=body["consultation_id"]).json()["total"] == 0
        return
    assert response.status_code == 201, response.text
    draw = response.json()
    values = attributes_of(export(stack, draw["id"]))
    panel = [values[pid] for pid in draw["panel"]]
    assert len(panel) == sum(composition.values())
    for kind, seats in composition.items():
        assert [v["kind"] for v in panel].count(kind) == seats
    assert sum(v["gender"] == "female" for v in panel) >= female_min
    assert sum(v["town"] == "玉蟾街道" for v in panel) <= town_max
    assert sum(v[f"expertise:{field}"] == "yes" for v in panel) >= field_min
    talents = [get(stack, f"/people/{pid}").json() for pid, v in zip(draw["panel"], panel) if v["kind"] == "talent"]
    assert all(set(expertise) & set(t["expertise"]) for t in talents)


def test_deferred_reveal_publishes_the_lottery_before_the_public_value_exists(stack: Stack, pool: list[int]) -> None:
    import hashlib

    known_at = datetime.now(UTC) + timedelta(seconds=4)
    body = {**KINDERGARTEN_DRAW, "consultation_id": 808, "round": 0, "public_randomness_source": "双色球 2026137期开奖号码",
            "public_randomness_at": known_at.isoformat(), "public_randomness_format": "lottery"}
    committed = post(stack, "/draws", body)
    assert committed.status_code == 201, committed.text
    draw = committed.json()
    assert draw["panel"] == [] and draw["drawn"] == [] and draw["status"] == "announced"
    assert post(stack, "/draws", body).json() == draw  # a retry does not draw either

    # the announcement is public, without a token, before the reveal
    public = httpx.get(f"{talent(stack)}/public/draws", params={"consultation_id": 808}, timeout=TIMEOUT)
    assert public.status_code == 200, public.text
    [announced] = public.json()["items"]
    assert announced["portfolio_hash"] == draw["portfolio_hash"] and announced["commitment"] == draw["commitment"]
    assert announced["public_randomness_source"] == "双色球 2026137期开奖号码"
    assert datetime.fromisoformat(announced["public_randomness_at"]) == known_at
    assert announced["status"] == "announced" and announced["public_randomness"] is None
    assert "panel" not in announced and "secret" not in json.dumps(announced)
    # the reveal is refused before the announced time, and checked for its format after it
    early = post(stack, f"/draws/{draw['id']}/reveal", {"public_randomness": "2.9.14.18.25.31./7./"})
    assert early.status_code == 409 and early.headers["Retry-After"], early.text
    assert early.json()["type"].endswith("reveal-too-early")
    time.sleep(max(0.0, (known_at - datetime.now(UTC)).total_seconds()) + 0.2)
    malformed = post(stack, f"/draws/{draw['id']}/reveal", {"public_randomness": "31.2./"})
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "public_randomness"

    published = get(stack, f"/draws/{draw['id']}/portfolio", Role.COMMITTEE).json()
    canonical = json.dumps(published["portfolio"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == draw["portfolio_hash"] == published["portfolio_hash"]
    assert published["commitment"] == draw["commitment"] and "secret" not in json.dumps(published)
    assert get(stack, f"/draws/{draw['id']}/export").status_code == 409
    assert post(stack, f"/draws/{draw['id']}/replacements", {"round": 1, "declined": [1]}).status_code == 409

    value = "2.9.14.18.25.31./7./"
    revealed = post(stack, f"/draws/{draw['id']}/reveal", {"public_randomness": value})
    assert revealed.status_code == 200, revealed.text
    assert len(revealed.json()["panel"]) == 19 and revealed.json()["portfolio_hash"] == draw["portfolio_hash"]
    assert post(stack, f"/draws/{draw['id']}/reveal", {"public_randomness": value}).json() == revealed.json()
    assert post(stack, f"/draws/{draw['id']}/reveal", {"public_randomness": "1./"}).status_code == 409
    record = export(stack, draw["id"])
    assert record["seed"]["public_randomness"] == value
    assert record["announcement"]["public_randomness_source"] == body["public_randomness_source"]
    assert datetime.fromisoformat(record["announcement"]["public_randomness_at"]) == known_at
    assert datetime.fromisoformat(record["announcement"]["announced_at"]) < known_at
    assert get(stack, f"/draws/{draw['id']}/verify").json()["ok"] is True
    both = post(stack, "/draws", {**body, "round": 1, "public_randomness": value})
    assert both.status_code == 422
    late = httpx.get(f"{talent(stack)}/public/draws/{draw['id']}", timeout=TIMEOUT).json()
    assert late["status"] == "drawn" and late["public_randomness"] == value


# ------------------------------------------------------------------ bounded re-draws
def test_a_first_draw_is_round_0_and_then_the_consultation_has_one(stack: Stack, pool: list[int]) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 901}
    # a first draw cannot pick its round
    late_first = post(stack, "/draws", {**body, "round": 7})
    assert late_first.status_code == 422 and late_first.json()["errors"][0]["field"] == "round"
    first = post(stack, "/draws", {**body, "round": 0})
    assert first.status_code == 201, first.text
    # the same request under other rounds draws nothing new
    for round_ in range(1, 6):
        again = post(stack, "/draws", {**body, "round": round_})
        assert again.status_code == 409, again.text
        assert again.json()["draw_id"] == first.json()["id"]
    assert get(stack, "/draws", consultation_id=901).json()["total"] == 1


def test_replacement_rounds_are_consecutive_from_the_latest_draw(stack: Stack, pool: list[int]) -> None:
    first = post(stack, "/draws", {**KINDERGARTEN_DRAW, "consultation_id": 902, "round": 0}).json()
    declined = first["panel"][:1]
    skipping = post(stack, f"/draws/{first['id']}/replacements", {"round": 3, "declined": declined})
    assert skipping.status_code == 422 and skipping.json()["errors"][0]["field"] == "round"
    second = post(stack, f"/draws/{first['id']}/replacements", {"round": 1, "declined": declined})
    assert second.status_code == 201, second.text
    assert len(second.json()["drawn"]) == len(declined)
    # the first draw is no longer the one to complete
    stale = post(stack, f"/draws/{first['id']}/replacements", {"round": 2, "declined": first["panel"][1:2]})
    assert stale.status_code == 409 and stale.json()["draw_id"] == second.json()["id"]


def test_only_the_lifecycle_asks_for_replacements(stack: Stack, pool: list[int]) -> None:
    first = post(stack, "/draws", {**KINDERGARTEN_DRAW, "consultation_id": 903, "round": 0}).json()
    # a clerk "declining" the whole panel to get a fresh one is refused
    whole = post(stack, f"/draws/{first['id']}/replacements", {"round": 1, "declined": first["panel"]}, Role.CLERK)
    assert whole.status_code == 403
    assert get(stack, "/draws", consultation_id=903).json()["total"] == 1


def test_voiding_is_explicit_public_and_lets_the_next_round_draw_anew(stack: Stack, pool: list[int]) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 904}
    first = post(stack, "/draws", {**body, "round": 0}).json()
    assert post(stack, f"/draws/{first['id']}/void", {"reason": "x"}).status_code == 422  # a reason is required
    reason = "会议改期，原抽选作废 (meeting moved; the panel can no longer attend)"
    voided = post(stack, f"/draws/{first['id']}/void", {"reason": reason}, Role.CLERK)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "void" and voided.json()["void_reason"] == reason
    assert post(stack, f"/draws/{first['id']}/void", {"reason": "another reason"}).status_code == 409
    assert post(stack, f"/draws/{first['id']}/replacements",
                {"round": 1, "declined": first["panel"][:1]}).status_code == 409
    # the next draw is one round later, and the voided one stays listed publicly with its reason
    assert post(stack, "/draws", {**body, "round": 2}).status_code == 422
    anew = post(stack, "/draws", {**body, "round": 1})
    assert anew.status_code == 201, anew.text
    public = httpx.get(f"{talent(stack)}/public/draws", params={"consultation_id": 904}, timeout=TIMEOUT).json()
    assert [(d["round"], d["status"], d["void_reason"]) for d in public["items"]] == [
        (0, "void", reason), (1, "drawn", None)]
    # only the latest draw can be voided
    assert post(stack, f"/draws/{first['id']}/void", {"reason": reason}).status_code == 200  # same reason: same answer
    assert post(stack, f"/draws/{anew.json()['id']}/void", {"reason": "ok, void the second too"}).status_code == 200


def test_idempotency_key_is_honoured(stack: Stack, pool: list[int]) -> None:
    body = {**KINDERGARTEN_DRAW, "consultation_id": 905, "round": 0}
    key = {"Idempotency-Key": "draw-905-0"}
    first = post(stack, "/draws", body, headers=key)
    assert first.status_code == 201, first.text
    replay = post(stack, "/draws", body, headers=key)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    reused = post(stack, "/draws", {**body, "cooldown_days": 5}, headers=key)
    assert reused.status_code == 422 and "Idempotency" in reused.json()["title"]
