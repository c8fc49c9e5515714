"""Chaos as a benchmark: consultations through the whole lifecycle while every process dies.

    .venv/bin/python bench/chaos.py [--consultations 20] [--budget 600] [--kill-every 6]

What runs (loopback only, on PostgreSQL, in a temporary data directory; nothing of
`make up` is touched): one Temporal dev server, **two replicas of each service** (two
uvicorn processes per service on different ports sharing that service's database) and
**two workers**, supervised by DevStack (services/common/devstack.py) as `xieshang up`
supervises its own. The workers reach the replicas through ServiceClient's round-robin
with failover (XIESHANG_<SERVICE>_URL lists both); the drive below does the same.

Order of operations:

1. fresh PostgreSQL databases, migrations (the real CLI), a loopback webhook receiver
   (tests/webhook_receiver.py) as the notifications' only endpoint;
2. the processes, supervised; a pool of people registered over HTTP (each person drawn
   at most once: talent's cool-down is 90 real days);
3. the chaos thread starts: at random moments (uniform, mean ``--kill-every`` seconds) it
   SIGKILLs one process, first each of them once in a shuffled order, then at random;
   supervision restarts it with backoff;
4. ``--consultations`` consultations are driven concurrently over HTTP only, as staff
   would (tests/e2e/test_kindergarten_case.py): submitted → accepted (decision) →
   research → drawing → inviting (every other one has a talent declining: a replacement
   round) → meeting (one or two commitments) → follow-up (each commitment is completed
   once its ladder reached a target level 0, 1 or 2, then verified and rated) →
   evaluation (one rating) → closed. Each step is "act, then observe": an answer lost to
   a killed process is retried (Idempotency-Key where the API takes one) until the
   consultation shows the step's effect;
5. when all are closed (or the budget is spent) the chaos stops, the outbox drains, and
   the counts are read exactly from the databases, from Temporal and from the receiver;
6. everything is stopped, the databases dropped.

Prints progress while it runs and a summary at the end, writes bench/results/chaos.json,
exits 0 only if every consultation closed, no workflow ended Failed/Terminated or is left
running, every process was killed at least once, and the invariants below hold.
Bounded: the drive stops at ``--budget`` seconds (default and at most 600) whatever
happens; setup and checks add about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common.auth import Role, mint_token
from services.common.devstack import Backoff, DevStack, StackPorts, free_port
from services.common.settings import SERVICE_NAMES, Settings
from tests.e2e.intake_helpers import due_public_value
from tests.stack import (
    POSTGRES_ADMIN_URL,
    create_postgres_databases,
    drop_postgres_databases,
)
from tests.webhook_receiver import Receiver

RESULTS = ROOT / "bench" / "results" / "chaos.json"
DEPARTMENTS = ("教育体育局", "卫生健康局")
EXPERTISE = "学前教育"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英志强丽华明军海燕文静晓东春梅红霞德明玉兰国庆桂芳"
T0 = time.monotonic()
# Set when the drive is over (done, budget spent, or interrupted): every driving thread
# gives up at its next request or poll, so the bench ends when it says it does.
STOP = threading.Event()


def say(message: str) -> None:
    print(f"[chaos {time.monotonic() - T0:6.1f}s] {message}", flush=True)


# ------------------------------------------------------------------------------ HTTP
class DriveError(Exception):
    """A request refused for a reason no retry can fix (a business error)."""


class StillFailing(DriveError):
    """Transient failures (crashes, restarts) outlasted the call's patience."""


class Http:
    """Staff's HTTP calls, spread over a service's replicas, retried through crashes.

    A transport error, a 5xx, 408/425/429, or a 409 on a request with an Idempotency-Key
    (the first attempt still holds the key) is retried on the next replica after a short
    pause, until `patience` runs out; any other 4xx raises DriveError unless the caller
    accepts it (`accept`)."""

    def __init__(self, urls: dict[str, list[str]], settings: Settings) -> None:
        self.urls = urls
        self.settings = settings
        self.client = httpx.Client(timeout=20)
        self.turn = itertools.count()
        self.tokens: dict[tuple[Role, str | None], str] = {}
        self.retries = Counter[str]()
        self.lock = threading.Lock()

    def token(self, role: Role, department: str | None = None) -> str:
        with self.lock:
            key = (role, department)
            if key not in self.tokens:
                self.tokens[key] = mint_token(
                    self.settings, role=role, subject=f"chaos-{role.value}", department=department, ttl_seconds=4 * 3600
                )
            return self.tokens[key]

    def call(
        self,
        service: str,
        method: str,
        path: str,
        role: Role,
        *,
        department: str | None = None,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
        accept: tuple[int, ...] = (),
        patience: float = 480,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token(role, department)}"}
        if key:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + patience
        while True:
            if STOP.is_set():
                raise DriveError("the drive is over")
            replicas = self.urls[service]
            url = replicas[next(self.turn) % len(replicas)] + path
            try:
                response = self.client.request(method, url, json=json_body, params=params, headers=headers)
                status = response.status_code
                if status < 400 or status in accept:
                    return status, (response.json() if response.content else None)
                retry = status >= 500 or status in (408, 425, 429) or (status == 409 and key is not None)
                reason = f"{status}"
                if not retry:
                    raise DriveError(f"{method} {service}{path} answered {status}: {response.text[:300]}")
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            with self.lock:
                self.retries[f"{service} {reason}"] += 1
            if time.monotonic() > deadline:
                raise StillFailing(f"{method} {service}{path}: still failing ({reason}) after {patience:.0f}s")
            time.sleep(0.5)


# ------------------------------------------------------------------------------ the drive
@dataclass
class Plan:
    """What the drive does with consultation i (so the expected counts are known)."""

    index: int
    format: str
    declines: bool
    commitments: list[tuple[str, int]]  # (department, target escalation level before completion)


def plans(n: int) -> list[Plan]:
    out = []
    for i in range(n):
        count = 2 if i % 3 == 0 else 1
        out.append(
            Plan(
                index=i,
                format="standing_committee" if i % 4 == 3 else "sector_micro",
                declines=i % 2 == 0,
                commitments=[(DEPARTMENTS[(i + j) % 2], (i + j) % 3) for j in range(count)],
            )
        )
    return out


@dataclass
class Progress:
    stages: dict[int, str] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    topics: dict[int, int] = field(default_factory=dict)
    commitment_ids: dict[int, list[int]] = field(default_factory=dict)
    levels_at_completion: dict[int, int] = field(default_factory=dict)
    targets: dict[int, int] = field(default_factory=dict)


# How long one step may take before its consultation is reported stuck. Generous: a worker
# killed during an activity costs that activity its 60 s start-to-close timeout, and
# retries back off to 30 s, so under a kill every few seconds one step can take minutes.
STEP = 480


class Driver:
    def __init__(self, http: Http, run: str, year: int, progress: Progress, day_seconds: float) -> None:
        self.http = http
        self.run = run
        self.year = year
        self.progress = progress
        self.day_seconds = day_seconds

    def consultation(self, tid: int) -> dict:
        status, body = self.http.call("intake", "GET", f"/topics/{tid}/consultation", Role.OPERATOR, accept=(404,))
        # 404: the workflow is not started yet (Temporal was down; the reconciler starts it).
        return body if status == 200 else {"stage": "unknown", "invitations": [], "commitment_ids": []}

    def observe(self, plan: Plan, tid: int, done, what: str, timeout: float, act=None, act_every: float = 20):
        """Poll the consultation until `done(c)`; (re)do `act()` at first and every
        `act_every` s while not done (an answer lost to a crash is simply asked again)."""
        deadline = time.monotonic() + timeout
        next_act = time.monotonic()
        while True:
            if STOP.is_set():
                raise DriveError("the drive is over")
            c = self.consultation(tid)
            self.progress.stages[plan.index] = c["stage"]
            if done(c):
                return c
            if c.get("needs_attention"):
                raise DriveError(f"consultation {tid} needs attention while waiting for {what}: {c['needs_attention']}")
            if act is not None and time.monotonic() >= next_act:
                act(c)
                next_act = time.monotonic() + act_every
            if time.monotonic() > deadline:
                raise DriveError(f"consultation {tid}: {what} not reached in {timeout:.0f}s (stage {c['stage']})")
            time.sleep(0.5)

    def drive(self, plan: Plan) -> None:
        try:
            self._drive(plan)
        except Exception as exc:  # noqa: BLE001 - reported per consultation
            self.progress.errors[plan.index] = f"{type(exc).__name__}: {exc}"
            say(f"consultation #{plan.index} stopped: {exc}")

    def _drive(self, plan: Plan) -> None:
        http, i = self.http, plan.index
        _, topic = http.call("intake", "POST", "/topics", Role.CLERK, key=f"{self.run}-topic-{i}", json_body={
            "title": f"混沌测试议题 {self.run} 第{i}号：县城公办幼儿园学位不足",
            "content": "县城只有一所公办幼儿园，容量约1000人，每年约4000名适龄儿童需要入园。",
            "channel": "member_recommended",
        })
        tid = topic["id"]
        self.progress.topics[i] = tid

        def tolerant(*args: Any, **kwargs: Any) -> None:
            # The effect is checked by observation: a 409 (already done, or not yet
            # possible) is no error here, and a call that kept failing is simply made
            # again at the next turn of `observe`.
            try:
                http.call(*args, accept=(409,), patience=60, **kwargs)
            except StillFailing as exc:
                say(f"consultation #{i}: {exc}; observing, will ask again")

        self.observe(plan, tid, lambda c: c["stage"] != "submitted", "accepted", STEP, act=lambda c: tolerant(
            "intake", "POST", f"/topics/{tid}/decision", Role.CHAIR, json_body={
                "outcome": "accepted", "format": plan.format, "organiser": "social-law-committee",
                "plan_year": self.year, "venue": "cppcc-hall", "planned_month": 6}))
        self.observe(plan, tid, lambda c: c["stage"] == "research", "research", STEP)
        self.observe(plan, tid, lambda c: c["stage"] not in ("accepted", "research"), "research done", STEP,
                     act=lambda c: tolerant("intake", "POST", f"/topics/{tid}/research-completion", Role.CLERK,
                                            json_body={"summary": "毛入园率85%，普惠性幼儿园学位占50%。",
                                                       "expertise": [EXPERTISE], "exclude_departments": []}))

        def reveal(c: dict) -> None:
            # Each draw is announced first; once its announced time has come the clerk
            # enters the public value (tests/e2e/intake_helpers.py, as every test does).
            if entry := due_public_value(c):
                path, body = entry
                tolerant("intake", "POST", path, Role.CLERK, json_body=body)

        c = self.observe(plan, tid, lambda c: c["stage"] == "inviting" and c["invitations"], "inviting", STEP,
                         act=reveal, act_every=1)
        if plan.declines:
            talents = sorted(inv["person_id"] for inv in c["invitations"] if inv["round"] == 0)
            decliner = self._first_talent(talents)

            asked = [0.0]

            def decline(c: dict) -> None:
                # the decline asked again every 20 s while lost; the replacement round's
                # announcement answered as soon as its value is due
                if not c.get("announcement") and time.monotonic() - asked[0] > 20:
                    asked[0] = time.monotonic()
                    tolerant("intake", "POST", f"/topics/{tid}/invitations/{decliner}/answer", Role.CLERK,
                             json_body={"accepted": False})
                reveal(c)

            self.observe(plan, tid, lambda c: any(inv["round"] == 1 for inv in c["invitations"]), "replacement",
                         STEP, act=decline, act_every=1)

        def accept_pending(c: dict) -> None:
            for inv in c["invitations"]:
                if inv["answer"] == "pending":
                    tolerant("intake", "POST", f"/topics/{tid}/invitations/{inv['person_id']}/answer", Role.CLERK,
                             json_body={"accepted": True})

        self.observe(plan, tid, lambda c: c["stage"] not in ("drawing", "inviting"), "all accepted", STEP,
                     act=accept_pending, act_every=5)
        due = (date.today() + timedelta(days=5)).isoformat()
        meeting = {
            "held_at": datetime.now(UTC).isoformat(), "venue": "cppcc-hall",
            "minutes": "通报全县学前教育现状。", "consensus": "新建公办幼儿园。",
            "attendance": [{"name": "李明", "category": "member"}],
            "commitments": [{"owner_department": d, "content": f"第{j + 1}项承诺：新建公办幼儿园", "due_date": due}
                            for j, (d, _) in enumerate(plan.commitments)],
        }
        c = self.observe(plan, tid, lambda c: c["stage"] not in ("meeting",) and
                         len(c.get("commitment_ids") or []) == len(plan.commitments), "meeting and hand-over", STEP,
                         act=lambda c: c["stage"] == "meeting" and tolerant(
                             "intake", "POST", f"/topics/{tid}/meetings", Role.CLERK, json_body=meeting),
                         act_every=30)
        cids = sorted(c["commitment_ids"])
        self.progress.commitment_ids[i] = cids
        for cid in cids:
            self._follow_up(plan, cid)
        self.observe(plan, tid, lambda c: c["stage"] in ("evaluation", "closed"), "evaluation", STEP)
        http.call("evaluation", "POST", "/ratings/consultations", Role.CLERK, key=f"{self.run}-rating-{i}", json_body={
            "consultation_topic_id": tid, "organiser": "social-law-committee", "plan_year": self.year,
            "rater_kind": "public", "aspect": "outcome_quality", "score": 4})
        self.observe(plan, tid, lambda c: c["stage"] == "closed", "closed", STEP)

    def _first_talent(self, person_ids: list[int]) -> int:
        for pid in person_ids:
            _, person = self.http.call("talent", "GET", f"/people/{pid}", Role.CLERK)
            if person["kind"] == "talent":
                return pid
        raise DriveError("no talent among the invited")

    def _follow_up(self, plan: Plan, cid: int) -> None:
        http = self.http
        _, commitment = http.call("evaluation", "GET", f"/commitments/{cid}", Role.OPERATOR)
        department = commitment["department"]
        target = dict(plan.commitments)[department]  # one commitment per department and consultation
        self.progress.targets[cid] = target
        deadline = time.monotonic() + STEP
        while commitment["escalation_level"] < target:
            if commitment.get("needs_attention"):
                raise DriveError(f"commitment {cid} needs attention: {commitment['needs_attention']}")
            if time.monotonic() > deadline:
                raise DriveError(f"commitment {cid}: level {target} not reached")
            time.sleep(0.5)
            _, commitment = http.call("evaluation", "GET", f"/commitments/{cid}", Role.OPERATOR)
        self.progress.levels_at_completion[cid] = commitment["escalation_level"]
        for path, body, role in (
            ("completion", {"summary": "新园建成开园"}, Role.DEPARTMENT),
            ("verification", {"means": "inspection", "passed": True}, Role.COMMITTEE),
            ("satisfaction", {"rating": "satisfied"}, Role.COMMITTEE),
        ):
            http.call("evaluation", "POST", f"/commitments/{cid}/{path}", role, department=department,
                      key=f"{self.run}-{cid}-{path}", json_body=body)


def person_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[(i * 7 + 3) % len(GIVEN)]


def seed_pool(http: Http, run: str, plan_list: list[Plan]) -> dict[str, int]:
    """Enough people that nobody need be drawn twice (cool-down), with a margin of 25%."""
    need = Counter[str]()
    composition = {"sector_micro": {"talent": 3, "member": 3, "public_rep": 4},
                   "standing_committee": {"talent": 4, "member": 8, "public_rep": 3}}
    for plan in plan_list:
        need.update(composition[plan.format])
        need["talent"] += plan.declines
    pool = {kind: int(count * 1.25) + 5 for kind, count in need.items()}
    people = [kind for kind, count in pool.items() for _ in range(count)]

    def register(n: int) -> None:
        kind = people[n]
        body = {"kind": kind, "display_name": person_name(n), "gender": "female" if n % 2 else "male",
                "town": "玉蟾街道", **({"expertise": [EXPERTISE]} if kind == "talent" else {})}
        http.call("talent", "POST", "/people", Role.CLERK, key=f"{run}-person-{n}", json_body=body)

    with ThreadPoolExecutor(8) as pool_threads:
        list(pool_threads.map(register, range(len(people))))
    return pool


# ------------------------------------------------------------------------------ chaos
class Chaos(threading.Thread):
    """SIGKILLs one process at a time: each once first (shuffled), then at random."""

    def __init__(self, stack: DevStack, names: list[str], mean_interval: float, rng: random.Random) -> None:
        super().__init__(name="chaos", daemon=True)
        self.stack, self.names, self.mean, self.rng = stack, names, mean_interval, rng
        self.kills = Counter[str]()
        self.stopping = threading.Event()

    def run(self) -> None:
        first = self.rng.sample(self.names, len(self.names))
        while not self.stopping.wait(self.rng.uniform(0.3 * self.mean, 1.7 * self.mean)):
            name = first.pop(0) if first else self.rng.choice(self.names)
            process = self.stack.process(name)
            if process.restart_at is not None or not process.alive() or time.monotonic() - process.started_at < 15:
                if self.kills[name] == 0 and name not in first:
                    first.append(name)  # its first kill comes later
                continue  # down, or restarted less than 15 s ago: another moment
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills[name] += 1
            say(f"SIGKILL {name} (pid {process.pid}); kills so far: {sum(self.kills.values())}")

    def stop(self) -> None:
        self.stopping.set()
        self.join()


# ------------------------------------------------------------------------------ counts
def database_counts(urls: dict[str, str]) -> dict[str, Any]:
    import asyncpg

    async def read() -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def rows(service: str, sql: str) -> list:
            conn = await asyncpg.connect(urls[service].replace("postgresql+asyncpg://", "postgresql://", 1))
            try:
                return await conn.fetch(sql)
            finally:
                await conn.close()

        out["topics"] = (await rows("intake", "SELECT count(*) FROM topics"))[0][0]
        out["meetings"] = (await rows("intake", "SELECT count(*) FROM meetings"))[0][0]
        out["topics_with_more_than_one_meeting"] = len(await rows(
            "intake", "SELECT topic_id FROM meetings GROUP BY topic_id HAVING count(*) > 1"))
        out["draws_per_round"] = {str(r["round"]): r["n"] for r in await rows(
            "talent", "SELECT round, count(*) AS n FROM draws GROUP BY round ORDER BY round")}
        out["people"] = (await rows("talent", "SELECT count(*) FROM people"))[0][0]
        out["commitments"] = (await rows("evaluation", "SELECT count(*) FROM commitments"))[0][0]
        out["commitment_status"] = {r["status"]: r["n"] for r in await rows(
            "evaluation", "SELECT status, count(*) AS n FROM commitments GROUP BY status")}
        out["escalations_per_level"] = {str(r["level"]): r["n"] for r in await rows(
            "evaluation", "SELECT level, count(*) AS n FROM escalation_events GROUP BY level ORDER BY level")}
        out["escalations_per_step"] = {r["step"]: r["n"] for r in await rows(
            "evaluation", "SELECT step, count(*) AS n FROM escalation_events GROUP BY step ORDER BY step")}
        out["duplicate_escalations"] = len(await rows(
            "evaluation", "SELECT commitment_id, generation, step FROM escalation_events "
                          "GROUP BY commitment_id, generation, step HAVING count(*) > 1"))
        out["max_level_per_commitment"] = {str(r["commitment_id"]): r["level"] for r in await rows(
            "evaluation", "SELECT commitment_id, max(level) AS level FROM escalation_events "
                          "WHERE generation = 0 GROUP BY commitment_id")}
        out["notifications"] = (await rows("evaluation", "SELECT count(*) FROM notifications"))[0][0]
        out["notifications_per_kind"] = {r["kind"]: r["n"] for r in await rows(
            "evaluation", "SELECT kind, count(*) AS n FROM notifications GROUP BY kind ORDER BY kind")}
        out["notification_status"] = {r["status"]: r["n"] for r in await rows(
            "evaluation", "SELECT status, count(*) AS n FROM notifications GROUP BY status")}
        out["notification_event_ids"] = sorted(r["event_id"] for r in await rows(
            "evaluation", "SELECT event_id FROM notifications"))
        out["consultation_events"] = (await rows("evaluation", "SELECT count(*) FROM consultation_events"))[0][0]
        out["ratings"] = (await rows("evaluation", "SELECT count(*) FROM consultation_ratings"))[0][0]
        return out

    return asyncio.run(read())


def workflow_statuses(address: str, task_queue: str) -> dict[str, dict[str, int]]:
    """Per workflow type, how many runs ended in each status; NEEDS_ATTENTION counts the
    runs that ever raised the NeedsAttention search attribute and still carry it."""
    from temporalio.client import Client

    async def read() -> dict[str, dict[str, int]]:
        client = await Client.connect(address)
        out: dict[str, Counter[str]] = {}
        async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'"):
            status = wf.status.name if wf.status is not None else "UNKNOWN"
            out.setdefault(wf.workflow_type, Counter())[status] += 1
        try:
            async for wf in client.list_workflows(f"TaskQueue = '{task_queue}' AND NeedsAttention IS NOT NULL"):
                out.setdefault(wf.workflow_type, Counter())["NEEDS_ATTENTION"] += 1
        except Exception:  # noqa: BLE001, S110 - a server without the attribute: none can need attention
            pass
        return {k: dict(v) for k, v in out.items()}

    return asyncio.run(read())


# ------------------------------------------------------------------------------ main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consultations", type=int, default=20)
    parser.add_argument("--budget", type=float, default=600, help="seconds for the drive (at most 600)")
    parser.add_argument("--kill-every", type=float, default=6.0, help="mean seconds between two kills")
    parser.add_argument("--day-seconds", type=float, default=2.0, help="one lifecycle 'day' in seconds")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--no-chaos", action="store_true", help="the same drive without kills (a baseline)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.budget = min(args.budget, 600)  # with setup, settling and stopping: under 15 minutes
    rng = random.Random(args.seed)
    run = f"chaos-{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix="xieshang-chaos-"))
    plan_list = plans(args.consultations)
    say(f"run {run}: {args.consultations} consultations, budget {args.budget:.0f}s, a kill every "
        f"~{args.kill_every:.0f}s{' (disabled)' if args.no_chaos else ''}; data in {data_dir}; "
        f"PostgreSQL at {POSTGRES_ADMIN_URL.rsplit('@', 1)[-1]}")

    webhook = Receiver()
    db_urls = create_postgres_databases(f"xs_chaos_{uuid.uuid4().hex[:8]}")
    ports = StackPorts.free()
    second = {name: free_port() for name in SERVICE_NAMES}
    replica_urls = {name: [f"http://127.0.0.1:{ports.service(name)}", f"http://127.0.0.1:{second[name]}"]
                    for name in SERVICE_NAMES}
    task_queue = f"xieshang-{run}"
    env = {
        "XIESHANG_NOTIFICATION_WEBHOOKS": json.dumps({"office-robot": webhook.url}),
        "XIESHANG_NOTIFICATION_POLL_SECONDS": "0.5",
        "XIESHANG_NOTIFICATION_BACKOFF_MAX_SECONDS": "5",
        "XIESHANG_CONSULTATION_DAY_SECONDS": str(args.day_seconds),
        # Staff answer invitations and complete research themselves: the silence rounds
        # and research deadline must never fire during the run.
        "XIESHANG_CONSULTATION_RESEARCH_DAYS": str(3600 / args.day_seconds),
        "XIESHANG_CONSULTATION_INVITATION_REPLY_DAYS": str(3600 / args.day_seconds),
        "XIESHANG_CONSULTATION_EVALUATION_WINDOW_DAYS": "3",
        "XIESHANG_JWT_SECRET": secrets.token_urlsafe(32),
        "XIESHANG_TEMPORAL_TASK_QUEUE": task_queue,
        "XIESHANG_LOG_LEVEL": "warning",
    }
    for name in SERVICE_NAMES:
        env[f"XIESHANG_{name.upper()}_DATABASE_URL"] = db_urls[name]
        env[f"XIESHANG_{name.upper()}_URL"] = ",".join(replica_urls[name])
    stack = DevStack(data_dir=data_dir, ports=ports, env=env,
                     backoff=Backoff(first=0.5, longest=4, stable_after=10), say=lambda line: say(f"supervisor: {line}"))
    settings = Settings(jwt_secret=env["XIESHANG_JWT_SECRET"], data_dir=str(data_dir))
    report: dict[str, Any] = {}
    status = 1
    chaos: Chaos | None = None
    try:
        subprocess.run([sys.executable, "-m", "services.common.cli", "migrate"], env={**os.environ, **stack.env},
                       check=True, capture_output=True, cwd=ROOT)
        stack.start_temporal()
        names = ["temporal"]
        for name in SERVICE_NAMES:
            stack.start_service(name, process_name=f"{name}-1")
            stack.start_service(name, port=second[name], process_name=f"{name}-2")
            names += [f"{name}-1", f"{name}-2"]
        stack.start_worker("worker-1")
        stack.start_worker("worker-2")
        names += ["worker-1", "worker-2"]
        stack.wait_ready(urls={f"{n}-{k + 1}": u for n in SERVICE_NAMES for k, u in enumerate(replica_urls[n])})
        stack.supervise()
        say(f"stack up: {len(names)} processes ({', '.join(names)})")

        http = Http(replica_urls, settings)
        pool = seed_pool(http, run, plan_list)
        say(f"pool registered: {pool}")

        progress = Progress()
        year = 2050 + rng.randrange(50)  # fresh databases: any plan year is free
        driver = Driver(http, run, year, progress, args.day_seconds)
        if not args.no_chaos:
            chaos = Chaos(stack, names, args.kill_every, rng)
            chaos.start()
        drive_started = time.monotonic()
        executor = ThreadPoolExecutor(len(plan_list))
        futures = [executor.submit(driver.drive, plan) for plan in plan_list]
        last_report = 0.0
        while not all(f.done() for f in futures):
            elapsed = time.monotonic() - drive_started
            if elapsed > args.budget:
                say("budget spent: the drive stops here")
                break
            if elapsed - last_report >= 15:
                last_report = elapsed
                stages = Counter(progress.stages.values())
                kills = sum(chaos.kills.values()) if chaos else 0
                say(f"stages {dict(sorted(stages.items()))}; errors {len(progress.errors)}; kills {kills}")
            time.sleep(1)
        drive_seconds = time.monotonic() - drive_started
        STOP.set()
        if chaos:
            chaos.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        say(f"drive over after {drive_seconds:.0f}s; letting the stack settle")

        # The outbox drains and the last kills are repaired before counting.
        stack.wait_ready(timeout=60,
                         urls={f"{n}-{k + 1}": u for n in SERVICE_NAMES for k, u in enumerate(replica_urls[n])})
        settle_deadline = time.monotonic() + 60
        while True:
            counts = database_counts(db_urls)
            pending = {k: v for k, v in counts["notification_status"].items() if k != "delivered"}
            if not pending or time.monotonic() > settle_deadline:
                break
            time.sleep(2)
        workflows = workflow_statuses(f"127.0.0.1:{ports.temporal}", task_queue)

        closed = [i for i, s in progress.stages.items() if s == "closed"]
        received = webhook.event_ids()
        expected_commitments = sum(len(p.commitments) for p in plan_list)
        levels = Counter(str(lvl) for lvl in counts["max_level_per_commitment"].values())
        failed_or_left = {
            wf_type: {s: n for s, n in statuses.items() if s != "COMPLETED"}
            for wf_type, statuses in workflows.items()
            if any(s != "COMPLETED" for s in statuses)
        }
        checks = {
            "all_closed": len(closed) == len(plan_list),
            "no_workflow_failed_terminated_or_running": not failed_or_left,
            "every_process_killed": args.no_chaos or (chaos is not None and all(chaos.kills[n] > 0 for n in names)),
            "draws_round_0_equals_consultations": counts["draws_per_round"].get("0") == len(plan_list),
            "draws_round_1_equals_declines": counts["draws_per_round"].get("1", 0) == sum(p.declines for p in plan_list),
            "commitments_as_planned": counts["commitments"] == expected_commitments,
            "one_meeting_per_consultation": counts["meetings"] == len(plan_list),
            "no_duplicate_escalation": counts["duplicate_escalations"] == 0,
            "one_notice_per_escalation": all(
                counts["notifications_per_kind"].get(f"escalation.{step}", 0) == n
                for step, n in counts["escalations_per_step"].items()),
            "every_notification_delivered": set(counts["notification_status"]) <= {"delivered"},
            "webhook_got_each_notification": sorted(set(received)) == counts["notification_event_ids"],
        }
        status = 0 if all(checks.values()) else 1
        counts_out = {k: v for k, v in counts.items() if k not in ("notification_event_ids", "max_level_per_commitment")}
        report = {
            "meta": {
                "command": "python bench/chaos.py " + " ".join(sys.argv[1:]),
                "run": run, "seed": args.seed, "python": platform.python_version(), "cpus": os.cpu_count(),
                "consultations": len(plan_list), "day_seconds": args.day_seconds,
                "kill_every_mean_seconds": None if args.no_chaos else args.kill_every,
                "drive_seconds": round(drive_seconds, 1), "total_seconds": round(time.monotonic() - T0, 1),
                "processes": names, "replicas": {n: replica_urls[n] for n in SERVICE_NAMES},
                "load_average_at_end": os.getloadavg(),
            },
            "result": "PASS" if status == 0 else "FAIL",
            "checks": checks,
            "closed": len(closed),
            "errors": {str(k): v for k, v in sorted(progress.errors.items())},
            "workflows": workflows,
            "counts": counts_out,
            "highest_level_per_commitment": dict(sorted(levels.items())),
            "commitments_completed_above_their_target_level": sum(
                1 for cid, target in progress.targets.items() if progress.levels_at_completion.get(cid, target) > target),
            "webhook": {"deliveries": len(received), "distinct_events": len(set(received)),
                        "repeated_deliveries": len(received) - len(set(received))},
            "kills": dict(sorted(chaos.kills.items())) if chaos else {},
            "kills_total": sum(chaos.kills.values()) if chaos else 0,
            "restarts": {p.name: p.restarts for p in stack.processes},
            "client_retries": dict(sorted(http.retries.items())),
        }
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the report says what broke
        say(f"failed: {type(exc).__name__}: {exc}")
        report = {"result": "FAIL", "error": f"{type(exc).__name__}: {exc}", **report}
    finally:
        STOP.set()
        if chaos and chaos.is_alive():
            chaos.stop()
        stack.stop(timeout=10)
        webhook.close()
        try:
            drop_postgres_databases(db_urls)
        except Exception as exc:  # noqa: BLE001
            say(f"could not drop the databases: {exc}")
        if status == 0:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            say(f"logs kept in {data_dir}/logs")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({k: report.get(k) for k in ("result", "checks", "closed", "errors", "workflows", "counts",
                                                 "highest_level_per_commitment", "webhook", "kills", "kills_total")},
                     ensure_ascii=False, indent=2))
    say(f"written to {args.results}")
    return status


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # No interpreter finalisation: the Temporal client's native side can crash in it
    # (temporalio/sdk-python#300), and driving threads have been told to stop already.
    os._exit(code)
