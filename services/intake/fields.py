"""Text field types of intake's API: size limits, no control characters, trimmed.

Every free-text field goes through one of these, so a bad value is a 422 naming the
field and the rule (problems.py), and nothing reaches the database.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from services.common.problems import PROBLEM_BASE, Problem
from services.common.text import (
    clean_for_storage,
    detect_garbled,
    ensure_no_control_characters,
)


def _single_line(value: str, info: ValidationInfo) -> str:
    ensure_no_control_characters(value, field_name=info.field_name or "text", allow_newlines=False, include_invisible=True)
    return _not_blank(value.strip())


def _multi_line(value: str, info: ValidationInfo) -> str:
    ensure_no_control_characters(value, field_name=info.field_name or "text")
    return _not_blank(clean_for_storage(value))


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


def _not_garbled(value: str, info: ValidationInfo) -> str:
    # Staff type or paste from documents: mojibake there is a conversion mistake to fix
    # before saving. (Public text is not refused: it goes to moderation instead.)
    report = detect_garbled(value)
    if report.is_garbled:
        hint = f" Perhaps: {report.repaired[:60]}" if report.repaired else ""
        raise ValueError(
            f"{info.field_name} looks garbled (乱码: {', '.join(report.reasons)}); fix the encoding and resend.{hint}"
        )
    return value


def _not_spam(value: str, info: ValidationInfo) -> str:
    # Staff entries are not moderated, so spam pasted into one is refused here; the
    # public's own submissions go to the moderation queue instead (never refused).
    from .screening import screen_submission

    result = screen_submission(value)
    if result.verdict == "moderate":
        raise ValueError(f"{info.field_name} looks like spam ({', '.join(result.codes)}); remove it and resend")
    return value


def line(max_length: int, description: str = ""):
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description), AfterValidator(_single_line)]


def text(max_length: int, description: str = ""):
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description), AfterValidator(_multi_line)]


TITLE_MAX = 200
CONTENT_MAX = 5000
NAME_MAX = 100
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"

Title = Annotated[line(TITLE_MAX, "标题"), AfterValidator(_not_garbled), AfterValidator(_not_spam)]
Content = Annotated[text(CONTENT_MAX, "内容"), AfterValidator(_not_garbled), AfterValidator(_not_spam)]
PublicTitle = line(TITLE_MAX, "标题")
PublicContent = text(CONTENT_MAX, "内容")
Name = line(NAME_MAX)
Note = text(2000)
Address = line(200, "地址")
Contact = line(200, "phone or WeChat id; personal data: only the office sees it")
Code = Annotated[
    str, Field(pattern=CODE_PATTERN, description="Lower-case letters, digits and '-', e.g. 'fuji-town-studio'")
]


def validation_problem(errors: list[dict[str, str]]) -> Problem:
    """A 422 like FastAPI's own, for rules that span fields (checked in services)."""
    detail = "; ".join(f"{e['field']}: {e['message']} ({e['rule']})" for e in errors)
    return Problem(422, "Invalid request", detail, type_=PROBLEM_BASE + "validation", errors=errors)
