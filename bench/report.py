"""Markdown tables for docs/benchmarks.md from the JSON under bench/results/.

    .venv/bin/python bench/report.py intake-before intake-after burst-before burst-after listings-before listings-after
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(label: str) -> dict | None:
    path = RESULTS / f"{label}.json"
    return json.loads(path.read_text()) if path.exists() else None


def intake(label: str) -> str:
    data = load(label)
    if not data:
        return f"({label}: not run)\n"
    out = [f"`{data['command']}` ({data['measured_at']})", "",
           "| db | concurrency | project /s | raw /s | ratio | project p50 / p99 ms | raw p50 / p99 ms | p99 ratio | errors | load1 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in data["rows"]:
        p, w = r["project"], r["raw"]
        out.append(f"| {r['backend']} | {r['concurrency']} | {p['per_second']} | {w['per_second']} | **{r['ratio']}** | "
                   f"{p['p50_ms']:.0f} / {p['p99_ms']:.0f} | {w['p50_ms']:.0f} / {w['p99_ms']:.0f} | {r['p99_ratio']} | "
                   f"{p['errors'] + w['errors']} | {min(r['load1'])}–{max(r['load1'])} |")
    out += ["", ("CPU milliseconds per request during the measuring window, by process (project: intake, evaluation, "
                 "worker, Temporal; raw: raw worker, Temporal):"), "",
            "| db | c | intake | evaluation | worker | temporal | raw worker | temporal (raw) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in data["rows"]:
        p, w, n = r["project"]["cpu_seconds"], r["raw"]["cpu_seconds"], r["n"]
        cells = [p.get(k, 0) for k in ("intake", "evaluation", "worker", "temporal")]
        cells += [w.get("raw-worker", 0), w.get("temporal", 0)]
        out.append(f"| {r['backend']} | {r['concurrency']} | " + " | ".join(f"{1000 * c / n:.0f}" for c in cells) + " |")
    return "\n".join(out) + "\n"


def burst(label: str) -> str:
    data = load(label)
    if not data:
        return f"({label}: not run)\n"
    out = [f"`{data['command']}` ({data['measured_at']})", "",
           "| N | create (accepted) s | settle s | drain s | raw drain s | raw/project | record lateness p50 / p99 s | raw lateness p50 / p99 s | timer lateness p99 s | webhooks p50 / p99 s | webhooks arrived | errors | load1 |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in data["runs"]:
        p, w = r["project"], r["raw"]
        loads = p["load1"] + w["load1"]
        out.append(f"| {r['n']} | {p['create_accepted_s']} | {p['settle_s']} | {p['drain_s']} | {w['drain_s']} | "
                   f"**{r['drain_ratio_raw_over_project']}** | {p['record_lateness_p50_s']} / {p['record_lateness_p99_s']} | "
                   f"{w['lateness_p50_s']} / {w['lateness_p99_s']} | {p['timer_lateness_p99_s']} | "
                   f"{p['webhook_lateness_p50_s']} / {p['webhook_lateness_p99_s']} | {p['webhooks']}/{p['records']} | "
                   f"{p['errors'] + w['errors']} | {min(loads)}–{max(loads)} |")
    out += ["", "| N | side | CPU s during the drain (worker / evaluation / temporal) | peak RSS MiB (worker / temporal) | Temporal db MiB | outbox after |",
            "|---:|---|---|---|---:|---|"]
    for r in data["runs"]:
        p, w = r["project"], r["raw"]
        out.append(f"| {r['n']} | project | {p['cpu_drain_s'].get('worker')} / {p['cpu_drain_s'].get('evaluation')} / "
                   f"{p['cpu_drain_s'].get('temporal')} | {p['peak_rss_mib'].get('worker')} / {p['peak_rss_mib'].get('temporal')} | "
                   f"{p['temporal_db_mib']} | {p['outbox']['by_status']} |")
        out.append(f"| {r['n']} | raw | {w['cpu_drain_s'].get('raw-worker')} (raw worker) / – / {w['cpu_drain_s'].get('temporal')} | "
                   f"{w['peak_rss_mib'].get('raw-worker')} / {w['peak_rss_mib'].get('temporal')} | {w['temporal_db_mib']} | |")
    return "\n".join(out) + "\n"


def listings(before: str, after: str) -> str:
    b, a = load(before), load(after)
    if not b and not a:
        return "(listings: not run)\n"
    rows_b = {r["case"]: r for r in (b or {}).get("rows", [])}
    rows_a = {r["case"]: r for r in (a or {}).get("rows", [])}
    out = [(f"before: `{(b or {}).get('command')}` ({(b or {}).get('measured_at')}); "
            f"after: `{(a or {}).get('command')}` ({(a or {}).get('measured_at')})"), "",
           "| listing | before p50 / p99 ms | after p50 / p99 ms | total before → after | load1 after |",
           "|---|---:|---:|---|---:|"]
    for case in dict.fromkeys([*rows_b, *rows_a]):
        rb, ra = rows_b.get(case, {}), rows_a.get(case, {})
        out.append(f"| {case} | {rb.get('p50_ms', '–')} / {rb.get('p99_ms', '–')} | {ra.get('p50_ms', '–')} / "
                   f"{ra.get('p99_ms', '–')} | {rb.get('total', '')} → {ra.get('total', '')} | {ra.get('load1', '')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    for label in sys.argv[1:]:
        print(f"### {label}\n")
        if label.startswith("intake"):
            print(intake(label))
        elif label.startswith("burst"):
            print(burst(label))
    if any(a.startswith("listings") for a in sys.argv[1:]):
        print(listings("listings-before", "listings-after"))
