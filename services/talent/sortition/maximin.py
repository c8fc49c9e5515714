"""Maximin over types by column generation.

Master LP (over the compositions found so far, p = probability of each):
    maximise z  s.t.  sum_c p_c * x_c[t] / size[t] >= z   for each coverable type t
                      sum_c p_c = 1,  p >= 0
Its duals y_t >= 0 (sum y = 1) price a new composition: the MILP
    maximise sum_t y_t * x[t] / size[t]
over all compositions. For any duals y on the simplex, that MILP's optimum
is an upper bound on the best achievable z (LP duality), so once the best
bound seen is within TOL of the master's z, z is certified optimal over *all*
distributions of panels, not only the ones generated: that is the stopping
rule (sortition-algorithms stops at an absolute gap of 5e-4 instead).

Because people of one type are interchangeable, the optimum over types equals
the optimum over individual people (any optimal distribution can be averaged
over permutations within types without lowering anyone's probability).

Types that appear in no feasible panel at all are "unreachable": they get
probability 0 and are left out of the minimum, as sortition-algorithms does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from .compositions import CompositionSolver, check_feasible
from .errors import SolverFailure
from .grouping import TypedProblem

#: relative optimality tolerance of the column generation
TOL = 1e-9
MAX_ITERATIONS = 5000
#: extra one-swap columns added per pricing round
SWAP_COLUMNS = 3
#: weight of the stability centre in the smoothed duals
SMOOTHING = 0.7


@dataclass(frozen=True)
class MaximinSolution:
    compositions: np.ndarray  # (C, T) int64, only those with positive probability
    probabilities: np.ndarray  # (C,) float, sums to 1
    min_probability: float  # LP optimum over reachable types
    upper_bound: float  # best pricing value at the end: optimum lies in [min, upper]
    #: the duals (on the simplex, over the reachable types, in type order) whose
    #: pricing value is upper_bound: the optimality certificate
    certificate: np.ndarray  # (T,) float, zero on unreachable types
    reachable: np.ndarray  # (T,) bool
    iterations: int
    columns_generated: int
    seconds: dict[str, float]  # wall time per phase, for benchmarks


class _Master:
    """The restricted master LP, kept in one HiGHS instance so each re-solve
    warm-starts from the previous basis."""

    def __init__(self, n_rows: int) -> None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        # presolve would discard the basis we want to warm-start from
        h.setOptionValue("presolve", "off")
        # new columns keep the old basis primal feasible: primal simplex resumes from it
        h.setOptionValue("simplex_strategy", 4)
        h.setOptionValue("dual_feasibility_tolerance", 1e-10)
        h.setOptionValue("primal_feasibility_tolerance", 1e-10)
        inf = highspy.kHighsInf
        self.n_rows = n_rows
        # rows 0..n_rows-1: z - sum_c a_ct p_c <= 0 ; row n_rows: sum_c p_c == 1
        h.addRows(
            n_rows,
            np.full(n_rows, -inf),
            np.zeros(n_rows),
            0,
            np.array([], np.int32),
            np.array([], np.int32),
            np.array([], np.float64),
        )
        h.addRow(1.0, 1.0, 0, np.array([], np.int32), np.array([], np.float64))
        # column 0: z, maximised
        h.addCol(
            -1.0, 0.0, 1.0, n_rows, np.arange(n_rows, dtype=np.int32), np.ones(n_rows)
        )
        self.h = h

    def add(self, column: np.ndarray) -> None:
        nz = np.flatnonzero(column)
        idx = np.concatenate([nz, [self.n_rows]]).astype(np.int32)
        val = np.concatenate([-column[nz], [1.0]])
        self.h.addCol(0.0, 0.0, highspy.kHighsInf, len(idx), idx, val)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverFailure(
                f"master LP: {self.h.modelStatusToString(self.h.getModelStatus())}"
            )
        sol = self.h.getSolution()
        col = np.array(sol.col_value)
        duals = -np.array(sol.row_dual)[: self.n_rows]
        return float(col[0]), np.maximum(duals, 0.0), np.maximum(col[1:], 0.0)


def _swap_neighbours(
    tp: TypedProblem, x: np.ndarray, weights: np.ndarray, threshold: float, limit: int
) -> list[tuple[np.ndarray, float]]:
    """Compositions one seat away from x (a seat moves from type a to type b)
    that still meet every quota and also price above the threshold.

    They cost a few vectorised array operations instead of a MILP each, and
    near-optimal columns tend to come in such families, so adding them cuts
    the number of pricing rounds several-fold.
    """
    q = tp.problem.quotas
    a_mat = tp.quota_matrix.toarray()  # (Q, T), small
    counts = a_mat @ x
    lb = np.array([qq.min for qq in q], dtype=float)
    ub = np.array([qq.max for qq in q], dtype=float)
    src = np.flatnonzero(x > 0)
    dst = np.flatnonzero(x < tp.sizes)
    if not len(src) or not len(dst):
        return []
    value0 = float(weights @ x)
    gain = weights[dst][None, :] - weights[src][:, None]  # (S, D)
    ok = value0 + gain > threshold
    ok &= src[:, None] != dst[None, :]
    if not ok.any():
        return []
    # quota counts after the move: counts - A[:, a] + A[:, b]
    after = (
        counts[:, None, None] - a_mat[:, src][:, :, None] + a_mat[:, dst][:, None, :]
    )
    ok &= np.all((after >= lb[:, None, None]) & (after <= ub[:, None, None]), axis=0)
    si, di = np.nonzero(ok)
    if not len(si):
        return []
    vals = gain[si, di]
    # deterministic order: best value first, ties by (source, destination) index
    order = np.lexsort((dst[di], src[si], -vals))[:limit]
    out = []
    for o in order:
        y = x.copy()
        y[src[si[o]]] -= 1
        y[dst[di[o]]] += 1
        out.append((y, value0 + float(vals[o])))
    return out


def solve_maximin(tp: TypedProblem) -> MaximinSolution:
    t0 = time.perf_counter()
    first = check_feasible(tp)
    solver = CompositionSolver(tp)
    sizes = tp.sizes.astype(float)

    # 1. cover every type that some feasible panel can include
    columns: list[np.ndarray] = [first]
    covered = first > 0
    reachable = np.ones(tp.n_types, dtype=bool)
    while not np.all(covered | ~reachable):
        # Maximise the seats given to still-uncovered types, each weighted by
        # 1/size so small types are not crowded out. Usually an integral LP
        # vertex (about a millisecond). An optimum of 0 proves that no valid
        # panel includes any of them.
        uncovered = reachable & ~covered
        found = solver.best(uncovered / sizes)
        if found is None or not np.any(found[0][uncovered] > 0):
            reachable &= covered
            break
        columns.append(found[0])
        covered |= found[0] > 0

    t1 = time.perf_counter()
    rows = np.flatnonzero(reachable)
    master = _Master(len(rows))
    seen = set()
    for x in columns:
        seen.add(x.tobytes())
        master.add(x[rows] / sizes[rows])

    # 2. column generation, with Wentges dual smoothing: pricing at a point
    # between the master's duals and the best duals seen so far (the
    # "stability centre") damps the oscillation of plain column generation and
    # roughly halves the number of rounds. Any duals y on the simplex give
    # the upper bound max_x y.x/size >= optimum, so the best such bound
    # certifies optimality when it meets the master's value.
    iterations = 0
    weights = np.zeros(tp.n_types)
    centre: np.ndarray | None = None
    best_bound = np.inf
    while True:
        iterations += 1
        if iterations > MAX_ITERATIONS:
            raise SolverFailure("column generation did not converge")
        z, y, p = master.solve()
        threshold = z * (1.0 + TOL) + 1e-15
        if best_bound <= threshold:
            break
        added = 0
        alpha = SMOOTHING if centre is not None else 0.0
        while True:
            ys = y if alpha == 0.0 else alpha * centre + (1.0 - alpha) * y
            weights[:] = 0.0
            weights[rows] = ys / sizes[rows]
            found = solver.best_many(weights)
            bound = found[0][1]
            if bound < best_bound:
                best_bound, centre = bound, ys
            # judge candidates with the master's own duals
            weights[:] = 0.0
            weights[rows] = y / sizes[rows]
            candidates = [(x, float(weights @ x)) for x, _ in found]
            candidates = [c for c in candidates if c[1] > threshold]
            if candidates:
                # more columns of the same family, found by one-seat swaps
                candidates += _swap_neighbours(
                    tp, candidates[0][0], weights, threshold, SWAP_COLUMNS
                )
            for x, _ in candidates:
                if x.tobytes() not in seen:
                    seen.add(x.tobytes())
                    columns.append(x)
                    master.add(x[rows] / sizes[rows])
                    added += 1
            if added or best_bound <= threshold or alpha == 0.0:
                break
            alpha = 0.0  # mis-priced: price at the master's duals themselves
        if not added:
            if best_bound <= threshold:
                break
            # improving columns exist in theory but all were generated already:
            # the master and the pricing disagree numerically, and no proof of
            # optimality was reached. Fail loudly rather than publish a guess.
            raise SolverFailure(
                f"column generation stalled without a proof of optimality: master {z!r}, "
                f"best bound {best_bound!r}"
            )
    upper = best_bound
    assert centre is not None
    certificate = np.zeros(tp.n_types)
    certificate[rows] = centre

    comps = np.array(columns, dtype=np.int64)
    keep = p > 1e-13
    probs = p[keep] / p[keep].sum()
    return MaximinSolution(
        compositions=comps[keep],
        probabilities=probs,
        min_probability=z,
        upper_bound=upper,
        certificate=certificate,
        reachable=reachable,
        iterations=iterations,
        columns_generated=len(columns),
        seconds={"covering": t1 - t0, "column_generation": time.perf_counter() - t1},
    )
