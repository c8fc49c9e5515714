"""Group interchangeable people into types.

Two people with the same values on every quota attribute can replace each
other in any panel without changing which quotas it meets, so the optimiser
works on types (distinct attribute vectors, with counts) instead of people.
A pool of 10,000 people typically has a few hundred types.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .model import DrawProblem, attribute_vector


@dataclass(frozen=True)
class PersonType:
    vector: tuple[str, ...]  # values of DrawProblem.type_attributes, in that order
    member_ids: tuple[str, ...]  # sorted

    @property
    def size(self) -> int:
        return len(self.member_ids)


@dataclass(frozen=True)
class TypedProblem:
    problem: DrawProblem
    types: tuple[PersonType, ...]  # sorted by vector
    #: rows: one per quota (same order as problem.quotas); columns: types;
    #: entry 1 when the type has the quota's value
    quota_matrix: sparse.csr_matrix
    sizes: np.ndarray  # int64, members per type

    @property
    def n_types(self) -> int:
        return len(self.types)


def group_types(problem: DrawProblem) -> TypedProblem:
    groups: dict[tuple[str, ...], list[str]] = {}
    for p in problem.people:  # people are sorted by id, so member lists are too
        groups.setdefault(attribute_vector(p, problem.type_attributes), []).append(p.id)
    types = tuple(PersonType(vec, tuple(groups[vec])) for vec in sorted(groups))
    col_of_attr = {a: i for i, a in enumerate(problem.type_attributes)}
    rows, cols = [], []
    for qi, q in enumerate(problem.quotas):
        ai = col_of_attr[q.attribute]
        for ti, t in enumerate(types):
            if t.vector[ai] == q.value:
                rows.append(qi)
                cols.append(ti)
    matrix = sparse.csr_matrix(
        (
            np.ones(len(rows)),
            (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)),
        ),
        shape=(len(problem.quotas), len(types)),
    )
    sizes = np.array([t.size for t in types], dtype=np.int64)
    return TypedProblem(problem, types, matrix, sizes)
