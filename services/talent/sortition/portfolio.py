"""The published portfolio: a distribution over panels, in exact arithmetic.

Compact form, so its size stays bounded for pools of 10,000+ people:

* ``types``: each distinct attribute vector with its sorted member ids;
* ``compositions``: how many seats each type gets, with an integer weight;
  weights sum to ``weight_denominator`` (2**48), so probabilities are exact
  rationals and no float rounding can make two verifiers disagree;
* a fixed rule (systematic sampling, :func:`members_for`) turning a
  composition and a number u in [0, 1) into concrete people. As u runs over
  [0, 1) every member of a type with x seats out of n is chosen for a share
  x/n of it, so within a type everyone has exactly the same probability.

The concrete panels (the distribution over sorted id lists) are enumerated by
:meth:`Portfolio.panels`; each composition contributes one panel per interval
of u on which the systematic choice is constant.

Nothing here imports a solver: the verifier uses this module offline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Any

ALGORITHM_VERSION = "xieshang-sortition/1"
WEIGHT_DENOMINATOR = 2**48


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same bytes in any process."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fraction_str(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def parse_fraction(s: str) -> Fraction:
    num, den = s.split("/")
    return Fraction(int(num), int(den))


def members_for(members: Sequence[str], seats: int, u: Fraction) -> list[str]:
    """Systematic sampling: members at positions floor((u + j) * n / seats).

    The positions are n/seats >= 1 apart, so they are distinct; a member is
    chosen for a total length seats/n of u in [0, 1).
    """
    n = len(members)
    if seats == 0:
        return []
    if seats == n:
        return list(members)
    return [members[int((u + j) * n // seats)] for j in range(seats)]


def _breakpoints(n: int, seats: int) -> list[Fraction]:
    # the choice changes where (u + j) * n / seats is an integer: at the
    # multiples of gcd(n, seats) / n
    if seats in (0, n):
        return []
    step = n // gcd(n, seats)
    return [Fraction(i, step) for i in range(1, step)]


@dataclass(frozen=True)
class PortfolioType:
    values: tuple[str, ...]
    members: tuple[str, ...]


@dataclass(frozen=True)
class Composition:
    weight: int  # out of WEIGHT_DENOMINATOR
    seats: tuple[
        tuple[int, int], ...
    ]  # (type index, seats), type index ascending, seats > 0


@dataclass(frozen=True)
class Panel:
    ids: tuple[str, ...]  # sorted, including the fixed (kept) members
    probability: Fraction
    composition_index: int
    u_start: Fraction  # the panel is chosen for u in [u_start, next start)


@dataclass(frozen=True)
class Portfolio:
    """Everything that is published (and hashed) before the seed is known."""

    attributes: tuple[str, ...]
    panel_size: int
    quotas: tuple[
        tuple[str, str, int, int], ...
    ]  # (attribute, value, min, max): the full panel's quotas
    fixed: tuple[
        tuple[str, tuple[str, ...]], ...
    ]  # kept members (replacement round): (id, values)
    excluded_ids: tuple[str, ...]
    types: tuple[PortfolioType, ...]
    compositions: tuple[Composition, ...]
    #: facts about the optimisation, published for transparency
    lp_min_probability: str  # repr of the LP optimum (float)
    lp_upper_bound: str
    algorithm_version: str = ALGORITHM_VERSION
    weight_denominator: int = WEIGHT_DENOMINATOR
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    # ---- serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm_version": self.algorithm_version,
            "attributes": list(self.attributes),
            "panel_size": self.panel_size,
            "quotas": [list(q) for q in self.quotas],
            "fixed": [[pid, list(vals)] for pid, vals in self.fixed],
            "excluded_ids": list(self.excluded_ids),
            "types": [
                {"values": list(t.values), "members": list(t.members)}
                for t in self.types
            ],
            "weight_denominator": self.weight_denominator,
            "compositions": [
                {"weight": c.weight, "seats": [list(s) for s in c.seats]}
                for c in self.compositions
            ],
            "lp_min_probability": self.lp_min_probability,
            "lp_upper_bound": self.lp_upper_bound,
            "probabilities": {
                pid: fraction_str(p) for pid, p in sorted(self.probabilities.items())
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Portfolio:
        """Rebuild from the published form (the ``probabilities`` field is
        derived data and is checked by the verifier, not trusted)."""
        return cls(
            attributes=tuple(d["attributes"]),
            panel_size=int(d["panel_size"]),
            quotas=tuple(
                (str(a), str(v), int(lo), int(hi)) for a, v, lo, hi in d["quotas"]
            ),
            fixed=tuple((str(pid), tuple(vals)) for pid, vals in d["fixed"]),
            excluded_ids=tuple(d["excluded_ids"]),
            types=tuple(
                PortfolioType(tuple(t["values"]), tuple(t["members"]))
                for t in d["types"]
            ),
            compositions=tuple(
                Composition(
                    int(c["weight"]), tuple((int(i), int(s)) for i, s in c["seats"])
                )
                for c in d["compositions"]
            ),
            lp_min_probability=str(d["lp_min_probability"]),
            lp_upper_bound=str(d["lp_upper_bound"]),
            algorithm_version=str(d["algorithm_version"]),
            weight_denominator=int(d["weight_denominator"]),
        )

    @property
    def canonical_json(self) -> str:
        if "json" not in self._cache:
            self._cache["json"] = canonical_json(self.to_dict())
        return self._cache["json"]

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON: published before the draw."""
        if "hash" not in self._cache:
            self._cache["hash"] = sha256_hex(self.canonical_json)
        return self._cache["hash"]

    # ---- derived quantities -------------------------------------------
    @property
    def probabilities(self) -> dict[str, Fraction]:
        """Exact selection probability of every drawable person.

        A member of type t gets sum_c weight_c * seats_c[t] / (D * size_t).
        """
        if "probs" not in self._cache:
            expected = [0] * len(self.types)
            for c in self.compositions:
                for ti, s in c.seats:
                    expected[ti] += c.weight * s
            out: dict[str, Fraction] = {}
            for t, e in zip(self.types, expected):
                p = Fraction(e, self.weight_denominator * len(t.members))
                for pid in t.members:
                    out[pid] = p
            self._cache["probs"] = out
        return self._cache["probs"]

    @property
    def min_probability(self) -> Fraction:
        """Smallest probability among people who can be on some valid panel."""
        positive = [p for p in self.probabilities.values() if p > 0]
        return min(positive) if positive else Fraction(0)

    @property
    def unreachable_ids(self) -> list[str]:
        """People no panel meeting the quotas can include (probability 0)."""
        return sorted(pid for pid, p in self.probabilities.items() if p == 0)

    def panel_for(self, composition_index: int, u: Fraction) -> tuple[str, ...]:
        c = self.compositions[composition_index]
        ids = [pid for pid, _ in self.fixed]
        for ti, s in c.seats:
            ids += members_for(self.types[ti].members, s, u)
        return tuple(sorted(ids))

    def panels(self) -> Iterator[Panel]:
        """Every concrete panel with its exact probability (may be many for big pools)."""
        for ci, c in enumerate(self.compositions):
            cuts = {Fraction(0)}
            for ti, s in c.seats:
                cuts.update(_breakpoints(len(self.types[ti].members), s))
            starts = sorted(cuts)
            for a, b in zip(starts, starts[1:] + [Fraction(1)]):
                yield Panel(
                    ids=self.panel_for(ci, a),
                    probability=Fraction(c.weight, self.weight_denominator) * (b - a),
                    composition_index=ci,
                    u_start=a,
                )

    def panel_count(self) -> int:
        total = 0
        for c in self.compositions:
            cuts = {Fraction(0)}
            for ti, s in c.seats:
                cuts.update(_breakpoints(len(self.types[ti].members), s))
            total += len(cuts)
        return total
