"""Before/after timing of the draw build on one machine, interleaved.

    PYTHONPATH=. .venv/bin/python bench/draw_compare.py --baseline /path/to/old/checkout [--rounds 5]

For each pool size of bench/draw_benchmark.py (100, 1,000, 10,000 people, seed 1),
alternates one build_portfolio in a fresh subprocess of the baseline checkout and one
of this checkout, ``rounds`` times, and reports for each the minimum wall time and the
minimum CPU time (process time: what the build itself costs, much less sensitive than
wall time to other work on a shared machine) and their ratios. The baseline's pools
come from its own services.talent.sortition.synthetic or tests.sortition_fixtures.synthetic
(the same generator, moved). Results: stdout and bench/results/draw_compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [(100, 8), (1000, 20), (10000, 20)]

WORKER = r"""
import json, sys, time
try:
    from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas
except ImportError:
    from services.talent.sortition.synthetic import synthetic_pool, synthetic_quotas
from services.talent.sortition import build_portfolio
n, k = int(sys.argv[1]), int(sys.argv[2])
composition, quotas = synthetic_quotas(k)
pool = synthetic_pool(n, seed=1)
build_portfolio(pool[: min(n, 60)], quotas[:0], composition={"talent": 2, "member": 1, "public_rep": 1})  # warm imports
w0, c0 = time.perf_counter(), time.process_time()
pf = build_portfolio(pool, quotas, composition=composition)
print("RESULT " + json.dumps({"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0,
                              "min_probability": float(pf.min_probability)}))
"""


def once(tree: Path, n: int, k: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", WORKER, str(n), str(k)], check=False, capture_output=True, text=True,
                          cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{tree} {n}: {proc.stderr[-2000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="100,1000,10000")
    args = ap.parse_args()
    sizes = {int(s) for s in args.sizes.split(",")}
    rows = []
    for n, k in CASES:
        if n not in sizes:
            continue
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            runs["before"].append(once(args.baseline.resolve(), n, k))
            runs["after"].append(once(ROOT, n, k))
        row = {"people": n, "panel_size": k, "runs": runs}
        for side in ("before", "after"):
            row[f"{side}_wall"] = min(r["wall"] for r in runs[side])
            row[f"{side}_cpu"] = min(r["cpu"] for r in runs[side])
        row["wall_ratio"] = row["after_wall"] / row["before_wall"]
        row["cpu_ratio"] = row["after_cpu"] / row["before_cpu"]
        same = {round(r["min_probability"], 12) for side in runs.values() for r in side}
        row["same_min_probability"] = len(same) == 1
        rows.append(row)
        print(f"{n:>6} people: wall {row['before_wall']:.2f} -> {row['after_wall']:.2f} s ({row['wall_ratio']:.2f}x), "
              f"cpu {row['before_cpu']:.2f} -> {row['after_cpu']:.2f} s ({row['cpu_ratio']:.2f}x), "
              f"same minimum: {row['same_min_probability']}", flush=True)
    out = ROOT / "bench" / "results" / "draw_compare.json"
    out.write_text(json.dumps({"command": " ".join(sys.argv), "load_average_at_end": os.getloadavg(), "rows": rows},
                              indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
