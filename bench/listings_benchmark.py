"""Topic listings over 1,000,000 topics on PostgreSQL: p50/p99 and the query plans.

    .venv/bin/python bench/listings_benchmark.py [--topics 1000000] [--runs 40] [--keep]

A bench database (``bench_listings``) is migrated by Alembic (the same migrations as
production) and filled directly with ``generate_series``: one accepted submission per
topic, seven channels, eight stages, 40 common two-character words (each in 1 topic out
of 40) and a rare phrase (无障碍设施, 1 in 10,000). Then each listing runs ``runs``
times through ``services.intake.topics.service.list_topics`` (what ``GET /topics``
calls, without HTTP), and each SQL statement it issues is shown with EXPLAIN ANALYZE.
``--keep`` leaves the database for the next run (filling 1,000,000 topics takes a few
minutes on a loaded machine). Writes bench/results/listings.json (or --label).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.chdir(Path(__file__).resolve().parents[1])

from bench.harness import POSTGRES_ADMIN_URL, load1, percentile, table, write_result

DB = "bench_listings"
WORDS = ["学校", "安全", "道路", "医院", "停车", "养老", "幼儿", "供水", "垃圾", "路灯", "噪音", "食堂", "公交", "菜市",
         "排水", "绿化", "电梯", "物业", "农田", "灌溉", "河道", "桥梁", "文化", "体育", "就业", "培训", "网络", "信号",
         "快递", "充电", "消防", "防汛", "治安", "药店", "社区", "厕所", "集市", "客运", "小区", "社保"]
CHANNELS = ["party_committee_assigned", "government_requested", "member_recommended", "sector_proposal",
            "town_liaison_proposal", "member_proposal", "public_online"]
STAGES = ["submitted", "accepted", "research", "drawing", "meeting", "follow_up", "closed", "rejected"]


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


FILL = f"""
INSERT INTO topics (id, title, content, channel, registered_by, created_at, workflow_started_at, stage, search_text, signature)
SELECT i,
       w1 || w2 || '问题' || i,
       content,
       ({sql_array(CHANNELS)})[1 + i % 7],
       'bench',
       now() - make_interval(secs => %(n)s - i),
       now() - make_interval(secs => %(n)s - i),
       ({sql_array(STAGES)})[1 + (i / 7) % 8],
       w1 || w2 || '问题' || i || content,
       '\\x01'::bytea
FROM (SELECT i,
             ({sql_array(WORDS)})[1 + i % 40] AS w1,
             ({sql_array(WORDS)})[1 + (i / 40) % 40] AS w2,
             CASE WHEN i % 10000 = 0 THEN '希望增设无障碍设施，方便老人出行' ELSE '群众反映多次，希望尽快解决' END AS content
      FROM generate_series(1, %(n)s) AS i) AS g;
INSERT INTO submissions (topic_id, channel, status, joined_as, title_raw, content_raw, title_normalised,
                         content_normalised, submitted_by, received_at)
SELECT id, channel, 'accepted', 'origin', title, content, title, content, 'bench', created_at FROM topics;
SELECT setval('topics_id_seq', %(n)s);
UPDATE topics SET signature = NULL WHERE id % 100000 = 0;
ANALYZE topics; ANALYZE submissions;
"""

CASES = [
    ("plain, first page", {}),
    ("plain, newest first", {"newest_first": True}),
    ("plain, deep page (after = N/2)", {"after": "half"}),
    ("stage=research", {"stage": "research"}),
    ("channel=public_online", {"channel": "public_online"}),
    ("channel + stage", {"channel": "government_requested", "stage": "meeting"}),
    ("q=学校 (common, 2 characters)", {"q": "学校"}),
    ("q=无障碍设施 (rare, 5 characters)", {"q": "无障碍设施"}),
    ("q=学校 安全 (two terms)", {"q": "学校 安全"}),
    ("q=学校, deep page", {"q": "学校", "after": "half"}),
    ("q=学校, newest first", {"q": "学校", "newest_first": True}),
    ("q=学校 安全, deep page", {"q": "学校 安全", "after": "half"}),
    ("q=学校 + channel=public_online", {"q": "学校", "channel": "public_online"}),
    ("q=学校 无障碍设施 (common + rare)", {"q": "学校 无障碍设施"}),
]


async def ensure_database(n: int, keep: bool) -> str:
    import asyncpg

    from services.common.migrate import upgrade

    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB)
        if exists and not keep:
            await admin.execute(f'DROP DATABASE "{DB}" WITH (FORCE)')
            exists = False
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DB}"')
    finally:
        await admin.close()
    dsn = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade, "intake", url)  # also applies new migrations to a kept database
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM topics")
        if have != n:
            await conn.execute("TRUNCATE topics, submissions RESTART IDENTITY CASCADE")
            # Bulk load as one would: the GIN indexes the migrations made are dropped,
            # the rows copied in, and the same indexes (their own definitions) rebuilt.
            gin = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                                   "('topics', 'submissions') AND indexdef LIKE '%USING gin%'")
            for row in gin:
                await conn.execute(f'DROP INDEX "{row["indexname"]}"')
            t0 = time.monotonic()
            await conn.execute(FILL.replace("%(n)s", str(n)))
            print(f"  filled {n:,} topics and submissions in {time.monotonic() - t0:.0f} s", flush=True)
            t0 = time.monotonic()
            for row in gin:
                await conn.execute(row["indexdef"])
            print(f"  rebuilt {len(gin)} GIN indexes in {time.monotonic() - t0:.0f} s", flush=True)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return url


async def measure(url: str, n: int, runs: int) -> list[dict]:
    from sqlalchemy import event

    from services.common.db import create_engine, session_factory
    from services.intake.topics.service import list_topics

    engine = create_engine(url)
    sessions = session_factory(engine)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    rows = []
    try:
        async with engine.connect() as conn:  # open the pooled connection before timing anything
            await conn.exec_driver_sql("SELECT 1")
        for name, case in CASES:
            kwargs = {"after": None, "limit": 20, **case}
            if kwargs["after"] == "half":
                kwargs["after"] = n // 2
            # The bench keeps every plan in memory: a full collection of its own heap
            # (~110 ms) would land inside some listing's runs. Collect and freeze it
            # before timing, so a run measures the listing, not the harness.
            gc.collect()
            gc.freeze()
            times = []
            for _ in range(runs):
                async with sessions() as session:
                    t0 = time.perf_counter()
                    page = await list_topics(session, **kwargs)
                    times.append(time.perf_counter() - t0)
            statements.clear()
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            async with sessions() as session:
                await list_topics(session, **kwargs)
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
            plans = []
            async with engine.connect() as conn:
                for statement, parameters in statements:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    plans.append({"sql": statement, "plan": [r[0] for r in result]})
            rows.append({
                "case": name, "params": {k: v for k, v in kwargs.items() if v is not None},
                "p50_ms": round(percentile(times, 50) * 1000, 2), "p99_ms": round(percentile(times, 99) * 1000, 2),
                "total": page.total, "items": len(page.items), "load1": load1(),
                # the page itself, to compare plans: same ids, same next cursor
                "ids": [t.id for t in page.items], "next_after": page.next_after, "plans": plans,
            })
            print(f"  {name}: p50 {rows[-1]['p50_ms']} ms, p99 {rows[-1]['p99_ms']} ms (total {page.total})", flush=True)
        # The reconciler's scan for topics without a duplicate signature (every 5 s).
        async with engine.connect() as conn:
            plan = [r[0] for r in await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM topics WHERE signature IS NULL ORDER BY id LIMIT 200")]
        rows.append({"case": "reconciler: signature IS NULL", "plans": [{"plan": plan}],
                     "p50_ms": float(plan[-1].split()[-2]), "p99_ms": None})
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topics", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="reuse (and leave) the bench database")
    parser.add_argument("--label", default="listings")
    args = parser.parse_args()
    print(f"listings over {args.topics:,} topics (load {load1()})", flush=True)
    url = asyncio.run(ensure_database(args.topics, args.keep))
    rows = asyncio.run(measure(url, args.topics, args.runs))
    print(table([[r["case"], r["p50_ms"], r["p99_ms"], r.get("total", "")] for r in rows],
                ["listing", "p50 ms", "p99 ms", "total"]))
    path = write_result(args.label, {"command": "bench/listings_benchmark.py " + " ".join(sys.argv[1:]),
                                     "topics": args.topics, "rows": rows})
    print(f"wrote {path}")
    if not args.keep:
        import asyncpg

        async def drop() -> None:
            admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            await admin.close()

        asyncio.run(drop())


if __name__ == "__main__":
    main()
