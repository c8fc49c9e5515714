"""Reading clerks' files: all rows valid or a 422 listing each bad row."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from services.common.problems import Problem
from services.talent.people.imports import parse_people_file
from services.talent.seed import generate_pool, to_csv


def errors_of(exc: pytest.ExceptionInfo[Problem]) -> set[tuple[int, str, str]]:
    assert exc.value.status == 422
    return {(e["row"], e["field"], e["rule"]) for e in exc.value.extra["errors"]}


def test_chinese_headers_and_values_are_read() -> None:
    content = "姓名,类别,专业领域,性别,在库,暂停至,回避部门\n张三,协商人才,法律；社会治理,男,否,2030-01-01,司法局、公安局\n"
    parsed = parse_people_file("a.csv", "text/csv", content.encode("utf-8-sig"))
    [person] = parsed.people
    assert person.kind == "talent" and person.gender == "male" and person.active is False
    assert person.expertise == ["法律", "社会治理"] and person.conflict_departments == ["司法局", "公安局"]
    assert str(person.unavailable_until) == "2030-01-01"


def test_gbk_csv_as_excel_saves_it() -> None:
    content = "姓名,类别\n李四,群众代表\n".encode("gbk")
    assert parse_people_file("a.csv", None, content).people[0].display_name == "李四"


def test_every_bad_row_is_reported_with_its_spreadsheet_number() -> None:
    content = "姓名,类别,性别\n好人,委员,女\n,委员,女\n\n坏人,外星人,女\n"
    with pytest.raises(Problem) as exc:
        parse_people_file("a.csv", "text/csv", content.encode())
    # blank line 4 is skipped but still counted, as the spreadsheet shows it
    assert errors_of(exc) == {(3, "display_name", "missing"), (5, "kind", "literal_error")}


def test_missing_and_unknown_columns_are_row_1() -> None:
    with pytest.raises(Problem) as exc:
        parse_people_file("a.csv", "text/csv", "姓名,身份证号\n王五,1\n".encode())
    assert errors_of(exc) == {(1, "身份证号", "unknown_column"), (1, "kind", "missing_column")}


def test_xlsx_numbers_and_dates() -> None:
    from datetime import datetime

    book = Workbook()
    book.active.append(["display_name", "kind", "phone", "unavailable_until"])
    book.active.append(["赵六", "talent", 13800001234, datetime(2031, 5, 1)])
    out = io.BytesIO()
    book.save(out)
    [person] = parse_people_file("a.xlsx", None, out.getvalue()).people
    assert person.phone == "13800001234" and str(person.unavailable_until) == "2031-05-01"


def test_other_formats_are_415() -> None:
    with pytest.raises(Problem) as exc:
        parse_people_file("a.pdf", "application/pdf", b"%PDF")
    assert exc.value.status == 415


def test_seed_pool_is_deterministic_and_importable() -> None:
    first, again = generate_pool(seed=3), generate_pool(seed=3)
    assert first == again and first != generate_pool(seed=4)
    assert [p["kind"] for p in first].count("talent") == 100 and len(first) == 170
    parsed = parse_people_file("seed.csv", "text/csv", to_csv(first))
    assert [p.model_dump(include={"display_name", "expertise", "town"}) for p in parsed.people] == [
        {"display_name": p["display_name"], "expertise": p["expertise"], "town": p["town"]} for p in first
    ]
