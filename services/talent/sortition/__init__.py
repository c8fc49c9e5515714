"""Fair, verifiable, reproducible sortition (抽选) of consultation participants.

Pure engine: no web service, no database. Typical use::

    portfolio = build_portfolio(people, quotas, composition={"talent": 8, "member": 6, "public_rep": 5})
    secret = new_secret(); commitment = commitment_for(secret)
    # publish portfolio.hash, commitment and which public randomness will be mixed in
    record = draw_panel(portfolio, secret, public_randomness, commitment)
    exported = record.to_dict()          # store / publish
    assert verify_draw(exported).ok      # anyone, offline (replacement rounds: verify_draw(r2, r1))

The solver-backed functions (build_portfolio, draw_replacements) are
imported lazily; verification loads HiGHS only for its one exact pricing
problem (the optimality certificate, certificate.py).
"""

from __future__ import annotations

from typing import Any

from .errors import DrawError, InfeasibleQuotas, InvalidDrawInput, SolverFailure
from .model import (
    KIND_ATTRIBUTE,
    DrawProblem,
    Person,
    Quota,
    composition_quotas,
    make_problem,
)
from .portfolio import (
    ALGORITHM_VERSION,
    WEIGHT_DENOMINATOR,
    Composition,
    Panel,
    Portfolio,
    PortfolioType,
    canonical_json,
    fraction_str,
    sha256_hex,
)
from .record import CommitmentMismatch, DrawRecord, draw_panel
from .seed import (
    DrawSeed,
    Selection,
    commitment_for,
    format_rfc3797,
    new_secret,
    public_value_problem,
    select_panel,
)

# verify is lazy too, so `python -m services.talent.sortition.verify` does not
# find it already imported (runpy warns about that)
_LAZY = {
    "build_portfolio": "draw",
    "draw_replacements": "draw",
    "verify_draw": "verify",
    "VerificationReport": "verify",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


__all__ = [
    "ALGORITHM_VERSION",
    "KIND_ATTRIBUTE",
    "WEIGHT_DENOMINATOR",
    "CommitmentMismatch",
    "Composition",
    "DrawError",
    "DrawProblem",
    "DrawRecord",
    "DrawSeed",
    "InfeasibleQuotas",
    "InvalidDrawInput",
    "Panel",
    "Person",
    "Portfolio",
    "PortfolioType",
    "Quota",
    "Selection",
    "SolverFailure",
    "VerificationReport",
    "build_portfolio",
    "canonical_json",
    "commitment_for",
    "composition_quotas",
    "draw_panel",
    "draw_replacements",
    "format_rfc3797",
    "fraction_str",
    "make_problem",
    "new_secret",
    "public_value_problem",
    "select_panel",
    "sha256_hex",
    "verify_draw",
]
