"""Deterministic synthetic pools for tests and benchmarks (ids and attributes only)."""

from __future__ import annotations

import numpy as np

from services.talent.sortition.model import Person, Quota

KINDS = ("member", "public_rep", "talent")
EXPERTISE = (
    "agriculture",
    "education",
    "environment",
    "finance",
    "health",
    "law",
    "planning",
    "transport",
)
GENDERS = ("female", "male")


def towns(n: int) -> tuple[str, ...]:
    return tuple(f"town{i:02d}" for i in range(n))


def synthetic_pool(n: int, seed: int = 0, n_towns: int = 10) -> list[Person]:
    """n people with kind, expertise, town and gender drawn from skewed distributions.

    numpy's PCG64 with a fixed seed gives the same pool on every platform.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    tw = towns(n_towns)
    kind = rng.choice(len(KINDS), size=n, p=[0.3, 0.3, 0.4])
    exp_p = np.array([3, 4, 2, 2, 3, 1, 2, 1], dtype=float)
    expertise = rng.choice(len(EXPERTISE), size=n, p=exp_p / exp_p.sum())
    town_p = np.linspace(2.0, 1.0, n_towns)
    town = rng.choice(n_towns, size=n, p=town_p / town_p.sum())
    gender = rng.choice(2, size=n, p=[0.35, 0.65])
    width = len(str(n))
    return [
        Person(
            id=f"p{i:0{width}d}",
            attributes={
                "kind": KINDS[kind[i]],
                "expertise": EXPERTISE[expertise[i]],
                "town": tw[town[i]],
                "gender": GENDERS[gender[i]],
            },
        )
        for i in range(n)
    ]


def synthetic_quotas(k: int, n_towns: int = 10) -> tuple[dict[str, int], list[Quota]]:
    """A composition by kind plus quotas on expertise, town and gender.

    Roughly: 40% talents, 30% members, the rest public representatives; at
    least 40% of each gender; every expertise and town capped so no group
    dominates; education and health always present.
    """
    talents = round(0.4 * k)
    members = round(0.3 * k)
    composition = {
        "talent": talents,
        "member": members,
        "public_rep": k - talents - members,
    }
    g = int(0.4 * k)
    quotas = [Quota("gender", v, g, k - g) for v in GENDERS]
    cap_e = max(2, -(-k // 4))
    for e in EXPERTISE:
        quotas.append(
            Quota("expertise", e, 1 if e in ("education", "health") else 0, cap_e)
        )
    cap_t = max(1, -(-k // 5))
    for t in towns(n_towns):
        quotas.append(Quota("town", t, 0, cap_t))
    return composition, quotas
