"""The pool's API shapes.

Contact details (phone, email) are personal data: they are accepted on input and
returned (``PersonRead.contact``) to clerks only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.common.types import Day

from ..fields import Email, Name, Phone, Strict, Tag, unique
from ..vocabulary import AgeBand, Expertise, Gender, PersonKind


class _PersonFields(Strict):
    expertise: Annotated[list[Expertise], AfterValidator(unique)] = Field(
        default_factory=list, max_length=10, description="专业领域, from the controlled vocabulary"
    )
    tags: Annotated[list[Tag], AfterValidator(unique)] = Field(default_factory=list, max_length=20, description="free tags")
    sector: Name | None = Field(default=None, description="界别")
    town: Name | None = Field(default=None, description="镇（街道）")
    gender: Gender | None = None
    age_band: AgeBand | None = None
    active: bool = True
    unavailable_until: Day | None = Field(default=None, description="not drawn up to and including this date")
    conflict_departments: Annotated[list[Name], AfterValidator(unique)] = Field(
        default_factory=list, max_length=20, description="departments with a declared conflict of interest (e.g. 教育体育局)"
    )
    conflict_organisations: Annotated[list[Name], AfterValidator(unique)] = Field(
        default_factory=list, max_length=20, description="organisations with a declared conflict of interest"
    )
    phone: Phone | None = Field(default=None, description="personal data: clerks only")
    email: Email | None = Field(default=None, description="personal data: clerks only")


class PersonCreate(_PersonFields):
    kind: PersonKind = Field(description="talent 协商人才 | member 政协委员 | public_rep 群众代表")
    display_name: Name


class PersonUpdate(Strict):
    """PATCH: only the fields given change; null clears an optional field."""

    kind: PersonKind | None = None
    display_name: Name | None = None
    expertise: Annotated[list[Expertise], AfterValidator(unique)] | None = Field(default=None, max_length=10)
    tags: Annotated[list[Tag], AfterValidator(unique)] | None = Field(default=None, max_length=20)
    sector: Name | None = None
    town: Name | None = None
    gender: Gender | None = None
    age_band: AgeBand | None = None
    active: bool | None = None
    unavailable_until: Day | None = None
    conflict_departments: Annotated[list[Name], AfterValidator(unique)] | None = Field(default=None, max_length=20)
    conflict_organisations: Annotated[list[Name], AfterValidator(unique)] | None = Field(default=None, max_length=20)
    phone: Phone | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> PersonUpdate:
        for name in ("kind", "display_name", "active", "expertise", "tags", "conflict_departments", "conflict_organisations"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Contact(BaseModel):
    phone: str | None
    email: str | None


class PersonRead(BaseModel):
    """A person as every reader sees it: no contact details."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    display_name: str | None = Field(description="clerks only; null for every other role")
    expertise: list[str]
    tags: list[str]
    sector: str | None
    town: str | None
    gender: str | None
    age_band: str | None
    active: bool
    unavailable_until: date | None
    conflict_departments: list[str]
    conflict_organisations: list[str]
    last_drawn_at: datetime | None
    created_at: datetime
    contact: Contact | None = Field(default=None, description="clerks only; null for every other role")


class PersonPage(BaseModel):
    items: list[PersonRead]
    total: int
    next_after: int | None


class ImportRowError(BaseModel):
    row: int = Field(description="row number as the spreadsheet shows it (the header is row 1)")
    field: str
    rule: str
    message: str


class ImportResult(BaseModel):
    import_id: int
    rows: int
    person_ids: list[int]
