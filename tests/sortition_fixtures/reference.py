"""Run sortition-algorithms' maximin on the same request, for tests and benchmarks.

Not used by the draw itself. The library is slow past ~1,000 people and, as
of 0.12.15, its result depends on PYTHONHASHSEED (it iterates sets), which is
why the engine does not use it; it remains the reference for the optimum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from services.talent.sortition.model import Person, Quota, make_problem


def library_maximin(
    people: Iterable[Person],
    quotas: Iterable[Quota] = (),
    panel_size: int | None = None,
    composition: Mapping[str, int] | None = None,
    solver_backend: str = "mip",
    seed: int = 0,
) -> tuple[float, dict[str, float]]:
    """(minimum probability over people in some feasible panel, per-person probabilities).

    ``seed`` seeds the library's tie-breaking; every integer (0 included) is a seed.
    """
    from sortition_algorithms import utils as library_utils
    from sortition_algorithms.committee_generation import find_distribution_maximin
    from sortition_algorithms.features import FeatureValueMinMax
    from sortition_algorithms.people import People

    problem = make_problem(people, quotas, panel_size, composition)
    k = problem.panel_size
    features: dict[str, dict[str, FeatureValueMinMax]] = defaultdict(dict)
    for q in problem.quotas:
        features[q.attribute][q.value] = FeatureValueMinMax(min=q.min, max=k if q.max is None else q.max)
    # the library insists every person's value is listed
    for p in problem.people:
        for a in problem.type_attributes:
            features[a].setdefault(p.attributes[a], FeatureValueMinMax(min=0, max=k))
    fc = {a: dict(sorted(v.items())) for a, v in sorted(features.items())}
    pool = People(columns_to_keep=[])
    for i, p in enumerate(problem.people):
        pool.add(p.id, {a: p.attributes[a] for a in problem.type_attributes}, fc, i + 1)
    # set_random_provider(seed) treats 0 (falsy) as "no seed" and falls back to
    # the secrets module: install the seeded provider directly instead
    library_utils._random_provider = library_utils.GenRandom(seed)
    committees, probs, _ = find_distribution_maximin(
        fc, pool, k, [], solver_backend=solver_backend
    )
    marg: dict[str, float] = {p.id: 0.0 for p in problem.people}
    for committee, pr in zip(committees, probs):
        for pid in committee:
            marg[pid] += pr
    covered = {pid for c in committees for pid in c}
    return min(marg[pid] for pid in covered), marg
