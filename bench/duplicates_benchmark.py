"""Benchmark of services.intake.duplicates at county scale.

    PYTHONPATH=. python bench/duplicates_benchmark.py [N ...]

Builds an index of N synthetic topics (hand-written concerns from the
labelled set, varied with place names, numbers and filler), then times
signing, adding and querying.  The point: a full numpy scan of all signatures
stays around a millisecond or a few for the tens of thousands of topics a
county accumulates, so LSH banding (and its missed candidates) is not needed.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.intake.duplicates import LUXIAN_TOWNS, DuplicateIndex, load_pairs

PAIRS = Path(__file__).resolve().parents[1] / "tests/unit/intake/data/duplicate_pairs.jsonl"
FILLER = ["已经很久了", "大家都很关心", "孩子老人都受影响", "请尽快答复", "多次反映无果", "附近居民意见很大"]


def synthetic_topics(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    base = sorted({t for p in load_pairs(PAIRS) for t in (p["a"], p["b"])})
    out = []
    for _ in range(n):
        prefix = f"{rng.choice(LUXIAN_TOWNS)}{rng.randint(1, 30)}组：" if rng.random() < 0.3 else ""
        out.append(prefix + rng.choice(base) + (rng.choice(FILLER) if rng.random() < 0.5 else ""))
    return out


def run(n: int) -> None:
    topics = synthetic_topics(n)
    index = DuplicateIndex()
    t0 = time.perf_counter()
    for i, text in enumerate(topics):
        index.add(i, text)
    t_add = (time.perf_counter() - t0) / n
    queries = synthetic_topics(200, seed=99)
    t0 = time.perf_counter()
    hits = sum(len(index.query(q)) for q in queries)
    t_query = (time.perf_counter() - t0) / len(queries)
    q = queries[0]
    t0 = time.perf_counter()
    for _ in range(20):
        index.query(q, threshold=1.01)  # scan only: no candidate survives
    t_scan = (time.perf_counter() - t0) / 20
    print(f"N={n:>6}: add {t_add * 1e3:6.2f} ms/topic, query {t_query * 1e3:7.2f} ms "
          f"(signature scan alone {t_scan * 1e3:.2f} ms; mean {hits / len(queries):.1f} matches per query, "
          f"the synthetic set repeats ~300 base texts)")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["1000", "10000"]:
        run(int(arg))
