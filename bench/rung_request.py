"""What one escalation rung costs evaluation: CPU, SQL statements and commits of the
record request the follow-up worker sends per rung, in process, on SQLite.

    .venv/bin/python bench/rung_request.py [--n 300] [--label rung-request]

The real evaluation app (every router, the request guard) on a fresh SQLite file with
Temporal "down" (commitments are stored, their follow-ups left to the recovery loop,
which is not run): N commitments, then N × ``POST /commitments/{id}/escalation-events``
as the worker sends it (service token, no ``Idempotency-Key``: evaluation keeps the
record once per ``event_key``; ``--keyed`` sends the key as the worker did before; the
commitment's state with the record: state-with-record-v1). Measured over the records
only: CPU time of this process (client and app: the ASGI client's share is the same for
any version of the guard), and the statements and commits evaluation's engine ran per
record. The outbox's webhook delivery is not part of it (no loop runs here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event

from services.common.auth import Role
from services.common.settings import SERVICE_NAMES
from tests.unit.guard.conftest import start_services

DUE = datetime(2027, 6, 30, 10, 0, tzinfo=UTC)


def record(commitment_id: int) -> dict:
    key = f"commitment-{commitment_id}-g0-reminder"
    return {
        "commitment_id": commitment_id, "event_key": key, "step": "reminder", "level": 0, "generation": 0,
        "planned_at": (DUE - timedelta(days=14)).isoformat(), "fired_at": (DUE - timedelta(days=14)).isoformat(),
        "summary": "提醒: due in 10 working days",
        "state": {"commitment_id": commitment_id, "state_key": f"open:0:0:0:{DUE.isoformat()}", "status": "open",
                  "escalation_level": 0, "due_at": DUE.isoformat(), "reopenings": 0},
    }


async def measure(data_dir: Path, n: int, keyed: bool = False) -> dict:
    urls = {s: f"sqlite+aiosqlite:///{data_dir}/{s}.db" for s in SERVICE_NAMES}
    async for services in start_services(urls, data_dir):
        evaluation = services.clients["evaluation"]
        clerk = services.auth(Role.CLERK, "office-1")
        ids = []
        for i in range(n):
            made = await evaluation.post("/commitments", json={
                "consultation_topic_id": i + 1, "department": "教育体育局", "content": f"承诺 {i}",
                "due_at": DUE.isoformat(), "organiser": "教科卫体委", "plan_year": 2027,
            }, headers=clerk)
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        counts = {"statements": 0, "commits": 0}
        engine = services.apps["evaluation"].state.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(*_args: object) -> None:
            counts["statements"] += 1

        @event.listens_for(engine, "commit")
        def _commit(*_args: object) -> None:
            counts["commits"] += 1

        def headers(body: dict) -> dict:
            return services.auth(Role.SERVICE, "worker", key=body["event_key"] if keyed else None)

        started_cpu, started = time.process_time(), time.perf_counter()
        for commitment_id in ids:
            body = record(commitment_id)
            answer = await evaluation.post(
                f"/commitments/{commitment_id}/escalation-events", json=body, headers=headers(body),
            )
            assert answer.status_code == 201, answer.text
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
        again = await evaluation.post(f"/commitments/{ids[0]}/escalation-events", json=record(ids[0]),
                                      headers=headers(record(ids[0])))
        if keyed:  # the guard replays the stored answer
            assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.text
        else:  # evaluation finds the record by its event_key
            assert again.status_code == 200 and again.json()["event_key"] == record(ids[0])["event_key"], again.text
        result = {
            "n": n,
            "keyed": keyed,
            "cpu_ms_per_record": round(cpu / n * 1000, 2),
            "wall_ms_per_record": round(wall / n * 1000, 2),
            "statements_per_record": round(counts["statements"] / n, 2),
            "commits_per_record": round(counts["commits"] / n, 2),
        }
    return result  # after the loop: start_services closes the apps


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keyed", action="store_true",
                        help="send an Idempotency-Key (the worker did before it relied on event_key alone)")
    parser.add_argument("--label", default=None, help="write bench/results/<label>.json")
    args = parser.parse_args()
    rounds = []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            rounds.append(await measure(Path(tmp), args.n, args.keyed))
        print(json.dumps(rounds[-1]), flush=True)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rounds": rounds,
        "cpu_ms_per_record_min": min(r["cpu_ms_per_record"] for r in rounds),
    }
    print(json.dumps(result))
    if args.label:
        out = Path(__file__).resolve().parent / "results" / f"{args.label}.json"
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
