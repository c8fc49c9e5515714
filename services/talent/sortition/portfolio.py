"""The published portfolio: a distribution over panels, in exact arithmetic.

Compact form, so its size stays bounded for pools of 10,000+ people:

* ``types``: each distinct attribute vector with its sorted member ids;
* ``compositions``: how many seats each type gets, with an integer weight;
  weights sum to ``weight_denominator`` (2**48), so probabilities are exact
  rationals and no float rounding can make two verifiers disagree;
* a fixed rule (:func:`uniform_members`) turning a composition and the seed's
  random value into concrete people: for each type with x seats out of n
  members, a uniformly random x-subset (a partial Fisher-Yates shuffle driven
  by a SHA-512 counter stream of the seed, exact rejection sampling). Every
  x-subset of a type is equally likely, so any group of people of one type
  can serve together, and a member's chance is exactly x/n: within a type
  everyone has the same probability and no order of ids (which follows the
  order of imports, which the office controls) shapes who serves with whom;
* ``certificate``: the dual prices of the type-level maximin LP (integers
  summing to ``weight_denominator``), so anyone can check that no lottery
  gives the least-likely eligible person a higher chance (see verify.py).

The concrete panels (the distribution over sorted id lists) are enumerated by
:meth:`Portfolio.panels` for small pools; :meth:`Portfolio.panel_count`
counts them for any pool.

Nothing here imports a solver: the verifier uses this module offline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations, product
from math import comb, prod
from typing import Any

ALGORITHM_VERSION = "xieshang-sortition/2"
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


class MemberStream:
    """Uniform integers from a seed: SHA-512 over (label, seed, block counter),
    read 8 bytes at a time, with rejection so that every value is exactly
    equally likely. Pure integer arithmetic: every verifier gets the same numbers."""

    LABEL = b"xieshang-sortition/2 members"

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0
        self._buffer = b""

    def _next64(self) -> int:
        if len(self._buffer) < 8:
            block = hashlib.sha512(self.LABEL + self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            self._buffer += block
        value, self._buffer = int.from_bytes(self._buffer[:8], "big"), self._buffer[8:]
        return value

    def below(self, m: int) -> int:
        """A uniform integer in [0, m)."""
        if m < 1:
            raise ValueError("empty range")
        limit = (1 << 64) - (1 << 64) % m  # the largest multiple of m not above 2**64
        while True:
            v = self._next64()
            if v < limit:
                return v % m


def uniform_members(members: Sequence[str], seats: int, stream: MemberStream) -> list[str]:
    """A uniformly random ``seats``-subset of ``members`` (partial Fisher-Yates).

    Position j takes a uniform pick among the members not yet taken, so every
    ordered choice, hence every subset, is equally likely.
    """
    n = len(members)
    if not 0 <= seats <= n:
        raise ValueError(f"{seats} seats for a type of {n}")
    if seats == n:
        return list(members)
    pool = list(members)
    for j in range(seats):
        i = j + stream.below(n - j)
        pool[j], pool[i] = pool[i], pool[j]
    return pool[:seats]


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
    #: optimality certificate: dual prices of the type-level maximin LP,
    #: ((type index, integer price), ...) with prices summing to weight_denominator
    dual_prices: tuple[tuple[int, int], ...] = ()
    #: how the lottery was chosen: "maximin" or "leximin" (whose first level is maximin)
    objective: str = "maximin"
    #: replacement round: (portfolio hash of the round it replaces, declined ids)
    replaces: tuple[str, tuple[str, ...]] | None = None
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
            "objective": self.objective,
            "replaces": None
            if self.replaces is None
            else {"portfolio_hash": self.replaces[0], "declined": list(self.replaces[1])},
            "certificate": {
                "dual_prices": [list(d) for d in self.dual_prices],
                "denominator": self.weight_denominator,
            },
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
            # records of version 1 have no certificate, objective or link (they are
            # read for their probabilities; the verifier refuses their version)
            dual_prices=tuple((int(i), int(w)) for i, w in d.get("certificate", {}).get("dual_prices", [])),
            objective=str(d.get("objective", "maximin")),
            replaces=None
            if d.get("replaces") is None
            else (str(d["replaces"]["portfolio_hash"]), tuple(str(x) for x in d["replaces"]["declined"])),
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

    def panel_for(self, composition_index: int, seed: bytes) -> tuple[str, ...]:
        """The concrete panel of a composition: kept members plus, type by type in
        index order, a uniformly random subset of the seats' size from ``seed``."""
        c = self.compositions[composition_index]
        stream = MemberStream(seed)
        ids = [pid for pid, _ in self.fixed]
        for ti, s in c.seats:
            ids += uniform_members(self.types[ti].members, s, stream)
        return tuple(sorted(ids))

    def panels(self) -> Iterator[Panel]:
        """Every concrete panel with its exact probability: small pools only (tests);
        a composition has prod C(n_t, x_t) equally likely panels."""
        fixed = [pid for pid, _ in self.fixed]
        for ci, c in enumerate(self.compositions):
            choices = [list(combinations(self.types[ti].members, s)) for ti, s in c.seats]
            each = Fraction(c.weight, self.weight_denominator) / prod(len(ch) for ch in choices)
            for pick in product(*choices):
                yield Panel(
                    ids=tuple(sorted([*fixed, *(pid for group in pick for pid in group)])),
                    probability=each,
                    composition_index=ci,
                )

    def panel_count(self) -> int:
        """How many (composition, panel) pairs have positive probability."""
        return sum(
            prod(comb(len(self.types[ti].members), s) for ti, s in c.seats)
            for c in self.compositions
        )
