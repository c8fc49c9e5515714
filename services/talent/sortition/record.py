"""The exported draw record: what the talent service stores and publishes.

A record is self-contained: the portfolio (types with member ids, quotas,
compositions with integer weights, per-person probabilities), its hash, the
commitment, the revealed seed and the selection. ``verify_draw`` checks it
without any solver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import DrawError
from .portfolio import ALGORITHM_VERSION, Portfolio, fraction_str
from .seed import DrawSeed, Selection, commitment_for, select_panel

RECORD_FORMAT = "xieshang-draw-record"


class CommitmentMismatch(DrawError):
    code = "commitment_mismatch"


@dataclass(frozen=True)
class DrawRecord:
    portfolio: Portfolio
    commitment: str
    seed: DrawSeed
    selection: Selection
    #: when and what was announced before the seed existed (the talent service adds
    #: it): {announced_at, public_randomness_source, public_randomness_at,
    #: public_randomness_format}; not part of the hashed portfolio
    announcement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        pf = self.portfolio
        out = {
            "format": RECORD_FORMAT,
            "algorithm_version": ALGORITHM_VERSION,
            "portfolio": pf.to_dict(),
            "portfolio_hash": pf.hash,
            "commitment": self.commitment,
            "seed": {
                "secret": self.seed.secret,
                "public_randomness": self.seed.public_randomness,
            },
            "selection": {
                "composition_index": self.selection.composition_index,
                "random_hex": self.selection.random_hex,
                "panel": list(self.selection.panel),
                "drawn_ids": list(self.selection.drawn_ids),
            },
            # informational; the verifier recomputes it
            "summary": {
                "min_probability": fraction_str(pf.min_probability),
                "min_probability_float": float(pf.min_probability),
                "people": len(pf.probabilities),
                "compositions": len(pf.compositions),
                "unreachable_ids": pf.unreachable_ids,
            },
        }
        if self.announcement is not None:
            out["announcement"] = dict(self.announcement)
        return out


def draw_panel(
    portfolio: Portfolio,
    secret: str,
    public_randomness: str | None = None,
    commitment: str | None = None,
) -> DrawRecord:
    """Phase two: the secret is revealed (and the public value known); pick the panel.

    ``commitment`` is what was published in phase one; it is checked here so a
    wrong secret fails loudly instead of producing a different panel.
    """
    seed = DrawSeed(secret, public_randomness)
    if commitment is not None and commitment != seed.commitment:
        raise CommitmentMismatch(
            "the revealed secret does not match the published commitment"
        )
    return DrawRecord(
        portfolio, commitment_for(secret), seed, select_panel(portfolio, seed)
    )
