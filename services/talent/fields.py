"""Field types and the strict base shared by talent's request shapes (people, draws)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from services.common.text import ensure_no_control_characters


def single_line(value: str) -> str:
    return ensure_no_control_characters(value, field_name="value", allow_newlines=False, include_invisible=True)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(single_line)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30), AfterValidator(single_line)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30, pattern=r"^\+?[0-9][0-9 \-]{4,28}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))  # keeps the order the clerk gave


class Strict(BaseModel):
    """A request shape: unknown fields are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")
