"""The panel-composition MILP and the infeasibility diagnosis.

A *composition* says how many seats each type gets: an integer vector x with
0 <= x[t] <= size[t], sum(x) == panel_size and every quota row within its
bounds. Every concrete panel of a composition meets the quotas, because
quotas only look at type attributes.
"""

from __future__ import annotations

import highspy
import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint

from .errors import InfeasibleQuotas, SolverFailure
from .grouping import TypedProblem

# Pricing is exact: HiGHS must prove the MILP optimum (relative and absolute gap
# 0), and the gap it reports is checked after every solve, because the best
# pricing value is the upper bound that certifies the maximin optimum.
MIP_REL_GAP = 0.0
MIP_ABS_GAP = 0.0
#: the gap HiGHS may report after such a solve: floating-point noise, far below
#: the column generation's tolerance (1e-9)
MIP_GAP_ACCEPTED = 1e-10


class CompositionSolver:
    """Finds compositions maximising a linear objective over types.

    One HiGHS model is kept and only its objective changes between calls, which
    saves rebuilding it hundreds of times during column generation.
    """

    def __init__(self, tp: TypedProblem, quota_rows: np.ndarray | None = None) -> None:
        self.tp = tp
        q = tp.problem.quotas
        rows = np.arange(len(q)) if quota_rows is None else quota_rows
        n = tp.n_types
        mats = [sparse.csr_matrix(np.ones((1, n)))]
        lbs = [float(tp.problem.panel_size)]
        ubs = [float(tp.problem.panel_size)]
        if len(rows):
            mats.append(tp.quota_matrix[rows])
            lbs += [float(q[i].min) for i in rows]
            ubs += [float(q[i].max) for i in rows]
        self._constraint = LinearConstraint(
            sparse.vstack(mats).tocsr(), np.array(lbs), np.array(ubs)
        )
        self._h: highspy.Highs | None = None
        self._lp: highspy.Highs | None = None

    def _model(self, integer: bool = True) -> highspy.Highs:
        if not integer:
            if self._lp is None:
                self._lp = self._build(integer=False)
            return self._lp
        if self._h is None:
            self._h = self._build(integer=True)
        return self._h

    def _build(self, integer: bool) -> highspy.Highs:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("presolve", "off")
        if integer:
            h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
            h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
            h.setOptionValue("mip_improving_solution_save", True)
        else:
            # only the objective changes between calls: the previous basis
            # stays primal feasible and primal simplex resumes from it
            h.setOptionValue("simplex_strategy", 4)
            # its value serves as the optimality certificate: keep it tight
            h.setOptionValue("dual_feasibility_tolerance", 1e-10)
            h.setOptionValue("primal_feasibility_tolerance", 1e-10)
        n = self.tp.n_types
        h.addCols(
            n,
            np.zeros(n),
            np.zeros(n),
            self.tp.sizes.astype(np.float64),
            0,
            np.array([], np.int32),
            np.array([], np.int32),
            np.array([], np.float64),
        )
        if integer:
            h.changeColsIntegrality(
                n,
                np.arange(n, dtype=np.int32),
                np.full(n, highspy.HighsVarType.kInteger),
            )
        a = self._constraint.A.tocsr()
        h.addRows(
            a.shape[0],
            self._constraint.lb,
            self._constraint.ub,
            a.nnz,
            a.indptr[:-1].astype(np.int32),
            a.indices.astype(np.int32),
            a.data.astype(np.float64),
        )
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        return h

    def best_many(self, weights: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Optimal composition first, then the other improving solutions HiGHS met
        on its way (each a valid composition; column generation may use them)."""
        n = self.tp.n_types
        scale = (
            float(np.max(np.abs(weights))) if weights.size and np.any(weights) else 1.0
        )
        # The LP relaxation, warm-started, takes about a millisecond; when its
        # optimal vertex is integral it is the MILP optimum too.
        lp = self._model(integer=False)
        lp.changeColsCost(n, np.arange(n, dtype=np.int32), weights / scale)
        lp.run()
        if lp.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            xf = np.array(lp.getSolution().col_value)
            xi = np.rint(xf)
            if np.all(np.abs(xf - xi) <= 1e-9):
                x = xi.astype(np.int64)
                return [(x, float(weights @ x))]
        h = self._model()
        h.changeColsCost(n, np.arange(n, dtype=np.int32), weights / scale)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return []
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverFailure(f"composition MILP: {h.modelStatusToString(status)}")
        gap = h.getInfo().mip_gap
        if gap > MIP_GAP_ACCEPTED:
            raise SolverFailure(f"composition MILP stopped at relative gap {gap!r}, not proven optimal")
        best = np.rint(np.array(h.getSolution().col_value)).astype(np.int64)
        out = [(best, float(weights @ best))]
        seen = {best.tobytes()}
        for s in h.getSavedMipSolutions():
            x = np.rint(np.array(s.col_value)).astype(np.int64)
            if x.tobytes() not in seen:
                seen.add(x.tobytes())
                out.append((x, float(weights @ x)))
        return out

    def best(self, weights: np.ndarray) -> tuple[np.ndarray, float] | None:
        """Composition maximising weights @ x, or None if there is none."""
        found = self.best_many(weights)
        return found[0] if found else None


def check_feasible(tp: TypedProblem) -> np.ndarray:
    """Raise InfeasibleQuotas naming the failing constraint, else return one composition."""
    p = tp.problem
    k = p.panel_size
    n_people = len(p.people)
    if n_people < k:
        raise InfeasibleQuotas(
            f"panel size {k} but only {n_people} eligible",
            panel_size=k,
            eligible=n_people,
        )

    counts = (
        np.asarray(tp.quota_matrix @ tp.sizes.astype(float)).ravel().astype(np.int64)
    )
    for q, have in zip(p.quotas, counts):
        if q.min > q.max:
            raise InfeasibleQuotas(
                f"quota {q.label()} min {q.min} exceeds its max {q.max}",
                quota=q.label(),
            )
        if q.min > k:
            raise InfeasibleQuotas(
                f"quota {q.label()} min {q.min} exceeds panel size {k}", quota=q.label()
            )
        if q.min > have:
            raise InfeasibleQuotas(
                f"quota {q.label()} min {q.min} but only {int(have)} eligible",
                quota=q.label(),
                minimum=q.min,
                eligible=int(have),
            )

    for attr in p.type_attributes:
        rows = [i for i, q in enumerate(p.quotas) if q.attribute == attr]
        min_sum = sum(p.quotas[i].min for i in rows)
        if min_sum > k:
            raise InfeasibleQuotas(
                f"sum of mins over {attr} ({min_sum}) exceeds panel size {k}",
                attribute=attr,
            )
        # seats this attribute can offer: capped quotas plus unquota'd values
        quota_people = sum(int(counts[i]) for i in rows)
        capacity = sum(min(p.quotas[i].max, int(counts[i])) for i in rows) + (
            n_people - quota_people
        )
        if capacity < k:
            raise InfeasibleQuotas(
                f"sum of maxes over {attr} (capped by eligible people: {capacity}) is below panel size {k}",
                attribute=attr,
            )

    found = CompositionSolver(tp).best(np.zeros(tp.n_types))
    if found is not None:
        return found[0]
    raise InfeasibleQuotas(_diagnose(tp), attributes=list(p.type_attributes))


def _diagnose(tp: TypedProblem) -> str:
    """Deletion filter over attributes: the smallest set whose quotas clash."""
    p = tp.problem
    needed = list(p.type_attributes)
    for attr in list(needed):
        trial = [a for a in needed if a != attr]
        rows = np.array(
            [i for i, q in enumerate(p.quotas) if q.attribute in trial], dtype=np.int64
        )
        if CompositionSolver(tp, rows).best(np.zeros(tp.n_types)) is None:
            needed = trial  # still infeasible without attr: attr is not needed
    if len(needed) == 1:
        return (
            f"quotas on {needed[0]} cannot be met by any panel of size {p.panel_size}"
        )
    return (
        f"quotas on {' and '.join(needed)} cannot be met together by any panel of size "
        f"{p.panel_size} from the eligible people"
    )
