"""Leximin over types, with HiGHS only (no Gurobi): an option beside maximin.

Maximin raises the smallest selection probability; among the lotteries that
reach it, leximin then raises the second smallest, and so on (Flanigan et al.,
"Fair algorithms for selecting citizens' assemblies", Nature 2021, use Gurobi
for it). At the type level, level by level:

1. Solve maximin by column generation (maximin.py): z1 and its certificate.
2. Level l: types already fixed keep at least their fixed probability v_t;
   maximise z, the smallest probability of the others:
       maximise z  s.t.  sum_c p_c a_ct >= z   (t not fixed)
                         sum_c p_c a_ct >= v_t (t fixed)
                         sum_c p_c = 1, p >= 0,       a_ct = x_c[t] / size[t]
   by column generation over compositions: a column improves when
   sum_t w_t x[t] > -dual(sum p = 1), with w_t the row duals over size[t]
   (the pricing MILP of compositions.py, solved exactly).
3. The unfixed types with a positive dual price cannot rise above z without
   lowering someone at or below z: fix them at z (never fewer than one type,
   since the prices of the unfixed rows sum to 1). Repeat until every
   reachable type is fixed.

Fixed levels are held with a relative slack of LEVEL_SLACK, so floating-point
noise in an earlier level cannot make a later one infeasible; the published
minimum stays within the verifier's certificate tolerance (1e-8) of maximin's.
The portfolio keeps maximin's certificate: the first level is certified, the
later ones are the engine's claim.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from .compositions import CompositionSolver
from .errors import SolverFailure
from .grouping import TypedProblem
from .maximin import MaximinSolution, solve_maximin

LEVEL_SLACK = 1e-10
TOL = 1e-9
MAX_ROUNDS_PER_LEVEL = 2000


class _LevelMaster:
    """The leximin master LP, kept in one HiGHS instance across rounds and levels so
    every re-solve warm-starts from the previous basis.

    Rows (one per reachable type t, then sum p = 1):
        sum_c a_ct p_c - z >= 0     while t is not fixed
        sum_c a_ct p_c     >= v_t   once t is fixed (z's coefficient set to 0)
    Column 0 is z (maximised); a composition column has +a_ct on every row.
    """

    def __init__(self, rows: np.ndarray, sizes: np.ndarray) -> None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("dual_feasibility_tolerance", 1e-10)
        h.setOptionValue("primal_feasibility_tolerance", 1e-10)
        inf = highspy.kHighsInf
        self.n_rows = len(rows)
        self.rows, self.sizes = rows, sizes
        h.addRows(self.n_rows, np.zeros(self.n_rows), np.full(self.n_rows, inf), 0,
                  np.array([], np.int32), np.array([], np.int32), np.array([], np.float64))
        h.addRow(1.0, 1.0, 0, np.array([], np.int32), np.array([], np.float64))
        h.addCol(-1.0, -inf, inf, self.n_rows, np.arange(self.n_rows, dtype=np.int32), -np.ones(self.n_rows))
        self.h = h

    def add(self, x: np.ndarray) -> None:
        a = x[self.rows] / self.sizes[self.rows]
        nz = np.flatnonzero(a)
        idx = np.concatenate([nz, [self.n_rows]]).astype(np.int32)
        self.h.addCol(0.0, 0.0, highspy.kHighsInf, len(idx), idx, np.concatenate([a[nz], [1.0]]))

    def fix(self, row: int, value: float) -> None:
        self.h.changeCoeff(row, 0, 0.0)
        self.h.changeRowBounds(row, value * (1 - LEVEL_SLACK), highspy.kHighsInf)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray, float]:
        """(z, row duals as pricing weights, p, the value a column must exceed)."""
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverFailure(f"leximin master LP: {self.h.modelStatusToString(self.h.getModelStatus())}")
        sol = self.h.getSolution()
        pi = np.array(sol.row_dual)
        col = np.array(sol.col_value)
        # minimising -z: a column improves when sum_r a_r pi_r + pi_conv > 0
        return float(col[0]), pi[: self.n_rows], np.maximum(col[1:], 0.0), -float(pi[self.n_rows])


def solve_leximin(tp: TypedProblem) -> tuple[MaximinSolution, int]:
    """The leximin lottery over compositions, as a MaximinSolution whose certificate
    and min_probability are those of its first level (maximin); also the number
    of levels."""
    t0 = time.perf_counter()
    first = solve_maximin(tp)
    sizes = tp.sizes.astype(float)
    rows = np.flatnonzero(first.reachable)
    solver = CompositionSolver(tp)
    columns = [c.astype(np.int64) for c in first.compositions]
    seen = {c.tobytes() for c in columns}
    fixed: dict[int, float] = {}
    levels = 0
    p = first.probabilities
    master = _LevelMaster(rows, sizes)
    for x in columns:
        master.add(x)
    while len(fixed) < len(rows):
        levels += 1
        for _ in range(MAX_ROUNDS_PER_LEVEL):
            z, weights, p, threshold = master.solve()
            full = np.zeros(tp.n_types)
            full[rows] = weights / sizes[rows]
            found = solver.best_many(full)
            added = 0
            for x, value in found:
                if value > threshold + TOL * max(1.0, abs(threshold)) and x.tobytes() not in seen:
                    seen.add(x.tobytes())
                    columns.append(x)
                    master.add(x)
                    added += 1
            if not added:
                break
        else:
            raise SolverFailure(f"leximin level {levels} did not converge")
        free = [i for i, t in enumerate(rows) if int(t) not in fixed]
        tight = [i for i in free if weights[i] > 1e-9]
        if not tight:  # degenerate duals: fix the types at the level itself
            probs = {i: sum(pc * c[rows[i]] / sizes[rows[i]] for pc, c in zip(p, columns)) for i in free}
            tight = [i for i in free if probs[i] <= z * (1 + 1e-9)] or free
        for i in tight:
            fixed[int(rows[i])] = z
            master.fix(i, z)
    comps = np.array(columns, dtype=np.int64)
    keep = p > 1e-13
    probs = p[keep] / p[keep].sum()
    solution = MaximinSolution(
        compositions=comps[keep],
        probabilities=probs,
        min_probability=first.min_probability,
        upper_bound=first.upper_bound,
        certificate=first.certificate,
        reachable=first.reachable,
        iterations=first.iterations,
        columns_generated=len(columns),
        seconds={**first.seconds, "leximin": time.perf_counter() - t0 - sum(first.seconds.values())},
    )
    return solution, levels
