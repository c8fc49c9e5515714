"""Reading a clerk's spreadsheet (CSV or XLSX) of people, row by row.

A file is all or nothing: every row is validated first, and a single bad row means
422 with every error listed ({row, field, rule, message}) and nothing stored. Rows
are numbered as the spreadsheet shows them: the header is row 1.

Headers may be the API's field names or the Chinese column titles clerks use
(姓名, 类别, 专业领域, ...); values of kind, gender and active may be Chinese too.
Chinese Excel saves CSV as GBK, so a file that is not UTF-8 is read as GB18030.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from services.common.problems import PROBLEM_BASE, Problem

from .schemas import ImportRowError, PersonCreate

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000

HEADER_ALIASES = {
    "kind": ("kind", "类别", "人员类别"),
    "display_name": ("display_name", "姓名", "name"),
    "expertise": ("expertise", "专业领域", "专业"),
    "tags": ("tags", "标签"),
    "sector": ("sector", "界别"),
    "town": ("town", "镇街", "镇（街道）", "镇(街道)", "乡镇"),
    "gender": ("gender", "性别"),
    "age_band": ("age_band", "年龄段"),
    "active": ("active", "在库"),
    "unavailable_until": ("unavailable_until", "暂停至", "暂不可用至"),
    "conflict_departments": ("conflict_departments", "回避部门"),
    "conflict_organisations": ("conflict_organisations", "回避单位"),
    "phone": ("phone", "电话", "手机"),
    "email": ("email", "邮箱", "电子邮箱"),
}
_HEADER_TO_FIELD = {alias.strip().lower(): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
LIST_FIELDS = {"expertise", "tags", "conflict_departments", "conflict_organisations"}
VALUE_ALIASES = {
    "kind": {"协商人才": "talent", "人才": "talent", "政协委员": "member", "委员": "member", "群众代表": "public_rep"},
    "gender": {"女": "female", "男": "male"},
    "active": {"是": True, "否": False, "true": True, "false": False, "yes": True, "no": False, "1": True, "0": False},
}
_LIST_SEPARATORS = str.maketrans({"；": ";", "、": ";", "，": ";", ",": ";"})


@dataclass
class ParsedFile:
    filename: str
    file_format: str
    sha256: str
    people: list[PersonCreate] = field(default_factory=list)


def parse_people_file(filename: str, content_type: str | None, data: bytes) -> ParsedFile:
    """Validate a whole file; raise a 422 Problem listing every bad row."""
    if len(data) > MAX_FILE_BYTES:
        raise Problem(413, "Payload Too Large", f"file: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    file_format = _format_of(filename, content_type)
    rows = _xlsx_rows(data) if file_format == "xlsx" else _csv_rows(data)
    parsed = ParsedFile(filename=filename or "upload", file_format=file_format, sha256=hashlib.sha256(data).hexdigest())
    errors: list[ImportRowError] = []
    header = next(rows, None)
    if header is None:
        _fail([ImportRowError(row=1, field="file", rule="empty", message="the file has no header row")])
    columns = _columns(header, errors)
    if errors:
        _fail(errors)
    count = 0
    for number, cells in enumerate(rows, start=2):
        if all(_blank(c) for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            _fail([ImportRowError(row=number, field="file", rule="too_many_rows", message=f"at most {MAX_ROWS} rows per file")])
        values = _row_values(columns, cells, number, errors)
        try:
            parsed.people.append(PersonCreate.model_validate(values))
        except ValidationError as exc:
            for e in exc.errors():
                name = str(e["loc"][0]) if e.get("loc") else "row"
                errors.append(ImportRowError(row=number, field=name, rule=e["type"], message=e["msg"]))
    if errors:
        _fail(errors)
    if not parsed.people:
        _fail([ImportRowError(row=2, field="file", rule="empty", message="the file has no data rows")])
    return parsed


def _fail(errors: list[ImportRowError]) -> None:
    shown = "; ".join(f"row {e.row} {e.field}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    raise Problem(
        422, "Invalid file", f"{len(errors)} error(s), nothing was stored: {shown}{more}",
        type_=PROBLEM_BASE + "import-validation", errors=[e.model_dump() for e in errors],
    )


def _format_of(filename: str, content_type: str | None) -> str:
    name = (filename or "").lower()
    if name.endswith(".xlsx") or (content_type or "").startswith("application/vnd.openxmlformats"):
        return "xlsx"
    if name.endswith(".csv") or (content_type or "").startswith(("text/csv", "text/plain")):
        return "csv"
    raise Problem(415, "Unsupported Media Type", "file: send a .csv or .xlsx file")


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            _fail([ImportRowError(row=1, field="file", rule="encoding", message="the file is neither UTF-8 nor GBK text")])
    return iter(csv.reader(io.StringIO(text, newline="")))


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 — any unreadable workbook is the caller's to fix
        _fail([ImportRowError(row=1, field="file", rule="unreadable", message="not a readable .xlsx workbook")])
    sheet = book.worksheets[0]
    return (list(row) for row in sheet.iter_rows(values_only=True))


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _columns(header: list[Any], errors: list[ImportRowError]) -> list[str | None]:
    columns: list[str | None] = []
    for cell in header:
        if _blank(cell):
            columns.append(None)
            continue
        name = _HEADER_TO_FIELD.get(str(cell).strip().lower())
        if name is None:
            errors.append(ImportRowError(row=1, field=str(cell)[:60], rule="unknown_column",
                                         message=f"unknown column; known: {', '.join(HEADER_ALIASES)}"))
        elif name in columns:
            errors.append(ImportRowError(row=1, field=name, rule="duplicate_column", message="column given twice"))
        columns.append(name)
    for required in ("kind", "display_name"):
        if required not in columns:
            errors.append(ImportRowError(row=1, field=required, rule="missing_column", message="required column missing"))
    return columns


def _row_values(columns: list[str | None], cells: list[Any], number: int, errors: list[ImportRowError]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, cell in zip(columns, cells):
        if name is None or _blank(cell):
            continue
        if name in LIST_FIELDS:
            values[name] = [v.strip() for v in str(cell).translate(_LIST_SEPARATORS).split(";") if v.strip()]
        elif name == "unavailable_until" and isinstance(cell, (datetime, date)):
            values[name] = cell.date() if isinstance(cell, datetime) else cell
        elif name == "phone" and isinstance(cell, (int, float)):
            values[name] = str(int(cell))  # Excel keeps 13800000000 as a number
        else:
            text = str(cell).strip()
            values[name] = VALUE_ALIASES.get(name, {}).get(text.lower(), text)
    return values
