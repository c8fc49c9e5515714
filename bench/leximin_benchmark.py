"""Leximin beside maximin on the same instances: time and the sorted probability vector.

    PYTHONPATH=. .venv/bin/python bench/leximin_benchmark.py [--sizes 100,1000]

The pools are those of bench/draw_benchmark.py (tests.sortition_fixtures.synthetic,
seed 1). For each size and objective, one build in its own subprocess; the
result records the wall time, the number of compositions, whether the record
verifies (leximin's record carries the certificate of its first level, maximin),
and the sorted per-person probabilities (as floats) with a few quantiles.
Results: a table on stdout and bench/results/leximin.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "leximin.json"
PANEL = {100: 8, 1000: 20, 10000: 20}

WORKER = r"""
import json, sys, time
from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas
from services.talent.sortition import build_portfolio, draw_panel, verify_draw
objective, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
composition, quotas = synthetic_quotas(k)
pool = synthetic_pool(n, seed=1)
t0 = time.perf_counter()
pf = build_portfolio(pool, quotas, composition=composition, objective=objective)
seconds = time.perf_counter() - t0
probs = sorted(float(p) for p in pf.probabilities.values())
report = verify_draw(draw_panel(pf, "benchmark-secret", "1.2.3./").to_dict())
print("RESULT " + json.dumps({"objective": objective, "people": n, "panel_size": k, "seconds": seconds,
      "compositions": len(pf.compositions), "verified": report.ok, "failures": report.failures,
      "sorted_probabilities": probs}))
"""


def run(objective: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", WORKER, objective, str(n), str(PANEL[n])], check=False,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{objective} {n}: {proc.stderr[-2000:]}")


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000", help="comma-separated pool sizes (100, 1000, 10000)")
    args = ap.parse_args()
    rows = [run(obj, int(n)) for n in args.sizes.split(",") for obj in ("maximin", "leximin")]
    head = f"{'objective':<10}{'people':>7}{'seconds':>9}{'comps':>7}  {'min':>8} {'p10':>8} {'median':>8} {'p90':>8} {'max':>8}  verified"
    print(head)
    print("-" * len(head))
    for r in rows:
        p = r["sorted_probabilities"]
        print(f"{r['objective']:<10}{r['people']:>7}{r['seconds']:>9.2f}{r['compositions']:>7}  "
              + " ".join(f"{v:>8.4%}" for v in (p[0], quantile(p, 0.1), quantile(p, 0.5), quantile(p, 0.9), p[-1]))
              + f"  {r['verified']}")
    meta = {"command": "PYTHONPATH=. python bench/leximin_benchmark.py --sizes " + args.sizes,
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
