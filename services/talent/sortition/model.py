"""Inputs of a draw (抽选): people, quotas, panel size.

Only ids and categorical attributes enter the engine, never names or contact
data. The caller (the talent service) has already removed ineligible people
(conflicts of interest, cool-down after a recent draw, unavailability).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from .errors import InvalidDrawInput

#: Attribute that carries the participant kind (talent / member / public_rep).
KIND_ATTRIBUTE = "kind"


@dataclass(frozen=True)
class Person:
    """One eligible person: an opaque id and categorical attributes."""

    id: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Quota:
    """At least ``min`` and at most ``max`` panel seats for ``attribute == value``."""

    attribute: str
    value: str
    min: int = 0
    max: int | None = None  # None: no upper bound beyond the panel size

    def label(self) -> str:
        return f"{self.attribute}={self.value}"


@dataclass(frozen=True)
class DrawProblem:
    """A normalised, validated draw request.

    Build it with :func:`make_problem`; everything in it is sorted so that the
    same request gives the same problem in any process.
    """

    people: tuple[Person, ...]  # sorted by id
    quotas: tuple[Quota, ...]  # sorted by (attribute, value); max always set
    panel_size: int
    #: the attributes that define a person's "type" (those mentioned in quotas)
    type_attributes: tuple[str, ...]


def composition_quotas(
    composition: Mapping[str, int], attribute: str = KIND_ATTRIBUTE
) -> list[Quota]:
    """Per-kind panel sizes (e.g. 8 talents, 6 members, 5 public reps) as exact quotas."""
    return [Quota(attribute, kind, n, n) for kind, n in sorted(composition.items())]


def make_problem(
    people: Iterable[Person],
    quotas: Iterable[Quota] = (),
    panel_size: int | None = None,
    composition: Mapping[str, int] | None = None,
) -> DrawProblem:
    """Validate and normalise a request.

    ``composition`` (kind -> seats) is turned into exact quotas on the
    ``kind`` attribute; when ``panel_size`` is omitted it is the sum of the
    composition.
    """
    people_list = sorted(people, key=lambda p: p.id)
    ids = [p.id for p in people_list]
    for a, b in pairwise(ids):
        if a == b:
            raise InvalidDrawInput(
                f"person id {a!r} appears twice in the pool", person_id=a
            )
    for p in people_list:
        if not isinstance(p.id, str) or not p.id:
            raise InvalidDrawInput(
                f"person id must be a non-empty string, got {p.id!r}"
            )

    quota_list = list(quotas)
    if composition:
        if any(n < 0 for n in composition.values()):
            raise InvalidDrawInput("composition counts must be non-negative")
        comp_total = sum(composition.values())
        if panel_size is None:
            panel_size = comp_total
        elif panel_size != comp_total:
            raise InvalidDrawInput(
                f"panel size {panel_size} differs from the composition total {comp_total}",
            )
        quota_list += composition_quotas(composition)
    if panel_size is None:
        raise InvalidDrawInput("panel_size or composition is required")
    if panel_size < 1:
        raise InvalidDrawInput(f"panel size must be positive, got {panel_size}")

    merged: dict[tuple[str, str], Quota] = {}
    for q in quota_list:
        if q.min < 0 or (q.max is not None and q.max < 0):
            raise InvalidDrawInput(f"quota {q.label()} has a negative bound")
        key = (q.attribute, q.value)
        qmax = panel_size if q.max is None else min(q.max, panel_size)
        if key in merged:
            # two quotas on the same value (e.g. a composition and an explicit
            # quota on kind): both must hold, so intersect them
            old = merged[key]
            merged[key] = Quota(
                q.attribute, q.value, max(old.min, q.min), min(old.max or 0, qmax)
            )
        else:
            merged[key] = Quota(q.attribute, q.value, q.min, qmax)
    norm_quotas = tuple(merged[k] for k in sorted(merged))

    type_attributes = tuple(sorted({q.attribute for q in norm_quotas}))
    for p in people_list:
        for a in type_attributes:
            v = p.attributes.get(a)
            if not isinstance(v, str):
                raise InvalidDrawInput(
                    f"person {p.id!r} has no string value for quota attribute {a!r}",
                    person_id=p.id,
                )
    return DrawProblem(tuple(people_list), norm_quotas, panel_size, type_attributes)


def attribute_vector(person: Person, attributes: Sequence[str]) -> tuple[str, ...]:
    return tuple(person.attributes[a] for a in attributes)
