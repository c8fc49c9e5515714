"""Exceptions raised by the draw engine.

The service maps these to HTTP answers, so each carries a machine-readable
``code`` besides the human message (the message is what staff read).
"""

from __future__ import annotations

from typing import Any


class DrawError(Exception):
    """Base class for every error the draw engine raises on purpose."""

    code = "draw_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidDrawInput(DrawError):
    """The request itself is malformed (duplicate ids, missing attributes, ...)."""

    code = "invalid_input"


class InfeasibleQuotas(DrawError):
    """No panel of the requested size can meet the quotas with the eligible pool.

    ``constraint`` names what cannot be met, e.g.
    ``"quota gender=female min 5 but only 3 eligible"``.
    """

    code = "infeasible_quotas"

    def __init__(self, constraint: str, **details: Any) -> None:
        super().__init__(constraint, **details)
        self.constraint = constraint


class SolverFailure(DrawError):
    """HiGHS returned something other than an optimal solution."""

    code = "solver_failure"
