"""Benchmark of the draw engine against sortition-algorithms' maximin.

    PYTHONPATH=. /work/main/.venv/bin/python bench/draw_benchmark.py [--library-1000]

Pools of 100, 1,000 and 10,000 people are generated deterministically
(tests.sortition_fixtures.synthetic: kind, expertise, town, gender, with a
composition by kind and quotas on the other three). Each measurement runs in
its own subprocess so the peak resident memory (ru_maxrss, which includes
HiGHS' C++ allocations that tracemalloc cannot see) belongs to that run only.
tracemalloc is not used: it slows Python code several-fold and would distort
the times. The 1-minute load average is recorded, since other work on the
machine inflates the times.

sortition-algorithms runs at 100 people always, at 1,000 only with
--library-1000 (about 30 s), never at 10,000 (an earlier measurement on this
machine, made before this benchmark existed, ran over an hour; not re-run here).
Results: a table on stdout and bench/results/draws.json.
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
RESULTS = ROOT / "bench" / "results" / "draws.json"
CASES = [(100, 8), (1000, 20), (10000, 20)]
POOL_SEED = 1

WORKER = r"""
import json, resource, sys, time
from tests.sortition_fixtures.synthetic import synthetic_pool, synthetic_quotas
engine, n, k, seed, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
composition, quotas = synthetic_quotas(k)
pool = synthetic_pool(n, seed=seed)
out = {"engine": engine, "people": n, "panel_size": k}
import os
out["load_average_before"] = os.getloadavg()[0]
# imports (scipy, highspy, the library) are not part of the measured time
from services.talent.sortition import build_portfolio, draw_panel, verify_draw
from tests.sortition_fixtures.reference import library_maximin
import sortition_algorithms.committee_generation
if engine == "xieshang":
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        pf = build_portfolio(pool, quotas, composition=composition)
        times.append(time.perf_counter() - t0)
    out["all_seconds"] = times
    out["seconds"] = min(times)
    out["min_probability"] = float(pf.min_probability)
    out["lp_upper_bound"] = float(pf.lp_upper_bound)
    out["types"] = len(pf.types)
    out["compositions"] = len(pf.compositions)
    out["concrete_panels"] = pf.panel_count()
    out["portfolio_json_bytes"] = len(pf.canonical_json.encode())
    record = draw_panel(pf, "benchmark-secret", "1.2.3./").to_dict()
    t1 = time.perf_counter()
    ok = verify_draw(record).ok
    out["verify_seconds"] = time.perf_counter() - t1
    out["verified"] = ok
else:
    t0 = time.perf_counter()
    m, _ = library_maximin(pool, quotas, composition=composition)
    out["seconds"] = time.perf_counter() - t0
    out["min_probability"] = m
out["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def run(engine: str, n: int, k: int, repeat: int = 1) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            WORKER,
            engine,
            str(n),
            str(k),
            str(POOL_SEED),
            str(repeat),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{engine} {n}: {proc.stderr[-2000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--library-1000",
        action="store_true",
        help="also run sortition-algorithms at 1,000 (~30 s)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="engine runs per size; the minimum time is reported",
    )
    ap.add_argument(
        "--sizes",
        default=",".join(str(n) for n, _ in CASES),
        help="comma-separated pool sizes",
    )
    args = ap.parse_args()
    sizes = {int(s) for s in args.sizes.split(",")}
    rows = []
    for n, k in CASES:
        if n not in sizes:
            continue
        rows.append(run("xieshang", n, k, args.repeat))
        if n == 100 or (n == 1000 and args.library_1000):
            rows.append(run("sortition-algorithms", n, k))
        else:
            reason = (
                "skipped: takes ~30 s, pass --library-1000"
                if n == 1000
                else "skipped: over an hour in an earlier measurement, not re-run"
            )
            rows.append(
                {
                    "engine": "sortition-algorithms",
                    "people": n,
                    "panel_size": k,
                    "skipped": reason,
                }
            )

    head = f"{'engine':<22}{'people':>7}{'k':>4}{'seconds':>9}{'min prob':>11}{'peak RSS MiB':>13}  notes"
    print(head)
    print("-" * len(head))
    for r in rows:
        if "skipped" in r:
            print(
                f"{r['engine']:<22}{r['people']:>7}{r['panel_size']:>4}{'':>9}{'':>11}{'':>13}  {r['skipped']}"
            )
            continue
        notes = ""
        if r["engine"] == "xieshang":
            notes = (
                f"{r['types']} types, {r['compositions']} compositions, {r['concrete_panels']} panels, "
                f"portfolio {r['portfolio_json_bytes'] / 1024:.0f} KiB, verify {r['verify_seconds']:.2f} s, "
                f"runs {'/'.join(f'{t:.2f}' for t in r['all_seconds'])} s"
            )
        print(
            f"{r['engine']:<22}{r['people']:>7}{r['panel_size']:>4}{r['seconds']:>9.2f}"
            f"{r['min_probability']:>10.4%} {r['max_rss_mib']:>12.0f}  {notes}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "PYTHONPATH=. python bench/draw_benchmark.py"
        + (" --library-1000" if args.library_1000 else ""),
        "repeat": args.repeat,
        "timing": "engine: minimum wall time of `repeat` builds in one process; library: one run",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }
    RESULTS.write_text(
        json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
