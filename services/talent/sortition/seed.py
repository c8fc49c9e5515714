"""Seeds: commit to a secret, reveal it, mix it with public randomness, pick a panel.

Protocol (two phases):
1. Before the draw, publish the portfolio hash and commitment = sha256(secret).
   Optionally announce a public random source to be mixed in (a lottery
   result formatted per RFC 3797, or a drand round's randomness).
2. After it, reveal the secret and the public value. Anyone recomputes
       r = HMAC-SHA512(key = portfolio hash bytes, msg = canonical JSON [secret, public])
   a 512-bit integer, and the position r * D / 2**512 (D = weight
   denominator) on the cumulative integer weights gives the composition; then
   each type's seats go to a uniformly random subset of its members, drawn
   from a SHA-512 stream of r (portfolio.MemberStream, uniform_members).
All arithmetic is on integers and exact fractions: there is no float step
on which two verifiers could disagree.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

# re-exported for the engine's users (the rule lives in services.common, shared with the workflow)
from services.common.public_values import PUBLIC_VALUE_FORMATS, public_value_problem  # noqa: F401

from .portfolio import Portfolio, canonical_json

RANDOM_BITS = 512


def new_secret() -> str:
    """32 random bytes as hex, for the organiser to keep until the reveal."""
    return _secrets.token_hex(32)


def commitment_for(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def format_rfc3797(sources: Iterable[Iterable[int]]) -> str:
    """Public random sources as RFC 3797 (section 4) wants them: each source's
    numbers sorted ascending, each followed by '.', each source closed by '/'.
    E.g. [[9, 18, 2], [7]] -> "2.9.18./7./" """
    return "".join(
        "".join(f"{n}." for n in sorted(int(x) for x in src)) + "/" for src in sources
    )


@dataclass(frozen=True)
class DrawSeed:
    secret: str
    public_randomness: str | None = None

    @property
    def commitment(self) -> str:
        return commitment_for(self.secret)


@dataclass(frozen=True)
class Selection:
    composition_index: int
    random_hex: str  # the HMAC output
    panel: tuple[str, ...]  # the full panel, sorted (kept members included)
    drawn_ids: tuple[str, ...]  # only the newly drawn people, sorted


def random_value(portfolio_hash: str, seed: DrawSeed) -> bytes:
    msg = canonical_json([seed.secret, seed.public_randomness or ""]).encode("utf-8")
    return hmac.new(bytes.fromhex(portfolio_hash), msg, hashlib.sha512).digest()


def locate(weights: Sequence[int], denominator: int, r: int) -> tuple[int, Fraction]:
    """Composition index and offset u in [0, 1) for a 512-bit integer r."""
    pos = r * denominator  # compare against cum * 2**512 to stay in integers
    scale = 1 << RANDOM_BITS
    cum = list(accumulate(weights))
    if cum[-1] != denominator:
        raise ValueError("weights do not sum to the denominator")
    # first index whose cumulative weight * scale exceeds pos
    index = bisect_right([c * scale for c in cum], pos)
    before = cum[index - 1] if index else 0
    u = Fraction(pos - before * scale, weights[index] * scale)
    return index, u


def select_panel(portfolio: Portfolio, seed: DrawSeed) -> Selection:
    digest = random_value(portfolio.hash, seed)
    r = int.from_bytes(digest, "big")
    index, _ = locate(
        [c.weight for c in portfolio.compositions], portfolio.weight_denominator, r
    )
    panel = portfolio.panel_for(index, digest)
    fixed = {pid for pid, _ in portfolio.fixed}
    return Selection(
        composition_index=index,
        random_hex=digest.hex(),
        panel=panel,
        drawn_ids=tuple(pid for pid in panel if pid not in fixed),
    )
